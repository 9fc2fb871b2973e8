"""Does ingest cost stay flat as the store grows? `patroldesk run --drain` on small and large stores.

Every run reads a fresh Dovecot user whose INBOX holds the generated corpus
(appended untimed), and is timed as a whole command, from spawn to exit, as
in the race: wall seconds, mails per second, CPU seconds (user + system, the
parsing process included, from wait4), the load average before and after,
and peak RSS read from /proc every half second: of the drain process, of
its whole tree at once (the parsing process too), and of each process in it.
Each run also says what became of the mail, read from the database and the
mailbox afterwards: spooled, finished (done, discarded or quarantined),
quarantined, tickets made, mails left in INBOX, and mails lost.

`flat(count)`: the same corpus into an empty SQLite database and into one
that already holds 100,000 tickets and 500,000 messages (bench/console.py's
generator, built once, untimed, and copied for each run); runs alternate,
and the ratio of the rates (prefilled / empty) is the figure: 1.0 is flat.

`curve(count)`: one drain of 50,000 mails into an empty SQLite database,
watched every half second from a read-only connection (mail finished and
spooled): mails per second in each 5,000 mails finished, and a check that
none was lost.

`postgresql(count)`: the empty-database run on a fresh PostgreSQL database
with one daemon, alternating with the same run on SQLite, both reported
(the CPU seconds are the daemon's: the PostgreSQL server's own are not in
them). Several daemons on one PostgreSQL database are bench/cluster.py's.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench import cluster, console, procs, race
from bench.mailgen import SUPPORT, corpus
from daemon.config import load_config
from daemon.store import db
from tests.dovecot import running_dovecot, write_daemon_config

PREFILL_TICKETS, PREFILL_MESSAGES = 100_000, 500_000
SAMPLE_SECONDS = 0.5
SEGMENT = 5000  # mails finished per point of the curve
QUIET = '[log]\nlevel = "WARNING"\n'
FINISHED_STATES = "('done', 'discarded', 'quarantined')"
_COUNTS = ('SELECT (SELECT COUNT(*) FROM "inbound"), '
           f'(SELECT COUNT(*) FROM "inbound" WHERE "state" IN {FINISHED_STATES}), '
           '(SELECT COUNT(*) FROM "inbound" WHERE "state" = \'quarantined\'), '
           '(SELECT COUNT(*) FROM "ticket")')
_FIGURES = ("mails_per_second", "seconds", "cpu_seconds", "peak_rss_mb", "peak_rss_tree_mb")

Prepare = Callable[[Path, Path], None]  # (run folder, config file): makes the run's database ready


def flat(count: int = 5000, pairs: int = 2) -> dict:
    """The same `count` mails into an empty database and a prefilled one, `pairs` times each, alternating."""
    mails = corpus(count)
    with tempfile.TemporaryDirectory(prefix="patroldesk-scale-") as tmp, running_dovecot(Path(tmp)) as server:
        template, prefill = _prefilled_template(Path(tmp) / "template")
        sides = {"empty": _empty, "prefilled": _copy_of(template)}
        runs = [_one_run(server, Path(tmp), f"{side}{pair}", mails, sides[side]) | {"side": side, "pair": pair}
                for pair in range(pairs) for side in sides]
    return {"benchmark": "scale_flat", "database": "sqlite", "mails": count, "pairs": pairs, "prefill": prefill,
            **_compare(runs, "empty", "prefilled"), "cpus": os.cpu_count(), "runs": runs}


def curve(count: int = 50_000) -> dict:
    """One drain of `count` mails into an empty SQLite database, watched as it goes."""
    mails = corpus(count)
    with tempfile.TemporaryDirectory(prefix="patroldesk-scale-") as tmp, running_dovecot(Path(tmp)) as server:
        watcher = _Watcher(spool=True)
        result = _one_run(server, Path(tmp), "curve", mails, _empty, watcher)
    return {"benchmark": "scale_curve", "database": "sqlite", "mails": count, "segment": SEGMENT,
            **result, **watcher.curve(count, result["seconds"]), "cpus": os.cpu_count()}


def postgresql(count: int = 5000, pairs: int = 2) -> dict:
    """The empty-database run on PostgreSQL (one daemon) and on SQLite, `pairs` times each, alternating."""
    mails = corpus(count)
    runs = []
    with tempfile.TemporaryDirectory(prefix="patroldesk-scale-") as tmp, running_dovecot(Path(tmp)) as server:
        for pair in range(pairs):
            runs.append(_one_run(server, Path(tmp), f"sqlite{pair}", mails, _empty) | {"side": "sqlite", "pair": pair})
            with cluster._postgres_database() as url:
                run = _one_run(server, Path(tmp), f"pg{pair}", mails, _on_postgresql(url))
            runs.append(run | {"side": "postgresql", "pair": pair})
    return {"benchmark": "scale_postgresql", "mails": count, "pairs": pairs, "daemons": 1,
            **_compare(runs, "sqlite", "postgresql"), "cpus": os.cpu_count(), "runs": runs}


def _one_run(server, tmp: Path, name: str, mails: list[bytes], prepare: Prepare,
             watcher: _Watcher | None = None) -> dict:
    """`run --drain --json` over a fresh mailbox holding `mails`; its folder is removed afterwards."""
    watcher = watcher or _Watcher()
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp))
    try:
        account = race.fresh_mailbox(server, name, mails)
        config_path = write_daemon_config(folder, account, name=name, support=SUPPORT, sections=QUIET)
        prepare(folder, config_path)
        config = load_config(str(config_path), {})
        tickets_before = _counts(config)["tickets"]
        load_before = os.getloadavg()
        watcher.begin(folder / "patroldesk.db")
        try:
            timed = race._timed([sys.executable, "-m", "daemon", "--config", str(config_path), "run", "--drain",
                                 "--json"], folder)
        finally:
            watcher.halt()
        load_after = os.getloadavg()
        out = (folder / "stdout").read_text().strip().splitlines()
        drained = json.loads(out[-1]) if out and timed["exit_status"] == 0 else {}
        counts, mailbox = _counts(config), _mailbox(account)
        return {**timed, **watcher.memory(), "mails_per_second": round(len(mails) / timed["seconds"], 1),
                "drain_own_seconds": drained.get("seconds"), "phases": drained.get("phases"),
                "spooled": counts["spooled"], "finished": counts["finished"], "quarantined": counts["quarantined"],
                "tickets_made": counts["tickets"] - tickets_before, **mailbox,
                "lost": len(mails) - counts["finished"] - mailbox["left_in_inbox"],
                "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _counts(config) -> dict:
    db.open_database(config)
    try:
        spooled, finished, quarantined, tickets = db.execute(_COUNTS).fetchone()
    finally:
        db.database.close()
    return {"spooled": spooled, "finished": finished, "quarantined": quarantined, "tickets": tickets}


def _mailbox(account) -> dict:
    """Mails left in INBOX, and in the folders the daemon files to."""
    with account.client() as client:
        delimiter = client.namespace().personal[0][1]
        folders = {"left_in_inbox": "INBOX", "processed_folder": f"patroldesk{delimiter}processed",
                   "quarantine_folder": f"patroldesk{delimiter}quarantine"}
        return {key: client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"] if client.folder_exists(name) else 0
                for key, name in folders.items()}


def _empty(_folder: Path, config_path: Path) -> None:
    db.open_database(load_config(str(config_path), {}))
    try:
        db.upgrade()
    finally:
        db.database.close()


def _copy_of(template: Path) -> Prepare:
    """Each run gets its own copy of the prefilled SQLite file (and its -wal and -shm, should they exist)."""
    def prepare(folder: Path, _config_path: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{template}{suffix}").exists():
                shutil.copy2(f"{template}{suffix}", folder / f"patroldesk.db{suffix}")
    return prepare


def _on_postgresql(url: str) -> Prepare:
    def prepare(folder: Path, config_path: Path) -> None:
        text = config_path.read_text()
        sqlite_url = f'url = "sqlite:///{folder}/patroldesk.db"'
        if sqlite_url not in text:
            raise RuntimeError(f"no {sqlite_url} in the generated configuration")
        config_path.write_text(text.replace(sqlite_url, f'url = "{url}"', 1))
        _empty(folder, config_path)
    return prepare


def _prefilled_template(folder: Path) -> tuple[Path, dict]:
    """A SQLite file holding the console bench's helpdesk, built once (untimed for the runs)."""
    folder.mkdir()
    config = console._config(str(folder))
    began = time.perf_counter()
    db.open_database(config)
    try:
        db.upgrade()
        console.build(PREFILL_TICKETS, PREFILL_MESSAGES)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, to copy it alone
    finally:
        db.database.close()
    path = db.sqlite_file(config)
    return path, {"tickets": PREFILL_TICKETS, "messages": PREFILL_MESSAGES,
                  "build_seconds": round(time.perf_counter() - began, 1),
                  "size_mb": round(path.stat().st_size / 2**20, 1)}


def _compare(runs: list[dict], base: str, other: str) -> dict:
    """Medians of each side, and the median ratio other/base of rate and of CPU seconds, pair by pair."""
    sides = {side: {key: round(statistics.median(r[key] for r in runs if r["side"] == side), 3) for key in _FIGURES}
             | {"failed_runs": sum(1 for r in runs if r["side"] == side and r["exit_status"] != 0)}
             for side in (base, other)}
    pairs = [(a, b) for a in runs for b in runs if a["side"] == base and b["side"] == other and a["pair"] == b["pair"]]
    return {**sides,
            "rate_ratio": round(statistics.median(b["mails_per_second"] / a["mails_per_second"] for a, b in pairs), 3),
            "cpu_ratio": round(statistics.median(b["cpu_seconds"] / a["cpu_seconds"] for a, b in pairs), 3),
            "nothing_lost": all(r["lost"] == 0 and r["left_in_inbox"] == 0 for r in runs)}


class _Watcher(threading.Thread):
    """Samples the drain's process tree (/proc) and, if asked, the spool (read-only) every SAMPLE_SECONDS."""

    def __init__(self, spool: bool = False):
        super().__init__(name="watch", daemon=True)
        self.spool = spool
        self.samples: list[tuple[float, int, int]] = []  # (seconds, finished, spooled)
        self.peaks: dict[int, tuple[str, int]] = {}  # pid -> (what it runs, VmHWM kB last read)
        self.peak_tree_kb = 0  # the most the whole tree held at once (sum of VmRSS)
        self.drain: int | None = None
        self.halted = threading.Event()

    def begin(self, database: Path) -> None:
        self.database = database
        self.began = time.perf_counter()
        self.start()

    def halt(self) -> None:
        self.halted.set()
        self.join(timeout=30)

    def run(self) -> None:
        connection = None
        while not self.halted.wait(SAMPLE_SECONDS):
            now = time.perf_counter() - self.began
            self.drain = self.drain or _child_running(b"--drain")
            if self.drain:
                self.peak_tree_kb = max(self.peak_tree_kb, sum(self._memory(pid) for pid in procs.tree(self.drain)))
            if not self.spool:
                continue
            try:
                connection = connection or sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5)
                spooled, finished = connection.execute(
                    f"SELECT COUNT(*), COUNT(*) FILTER (WHERE state IN {FINISHED_STATES}) FROM inbound").fetchone()
            except sqlite3.Error:
                continue  # not readable yet (no -shm before the daemon opens it): the next sample
            self.samples.append((now, finished, spooled))
        if connection:
            connection.close()

    def _memory(self, pid: int) -> int:
        """VmRSS of `pid` in kB; its VmHWM is kept as the latest peak seen."""
        status = procs.proc_status(pid)
        if "VmHWM" in status:
            self.peaks[pid] = (_command(pid) or self.peaks.get(pid, ("?", 0))[0], status["VmHWM"])
        return status.get("VmRSS", 0)

    def memory(self) -> dict:
        """Peak RSS of the drain process itself, of its tree at once, and of each process in it.
        (wait4's ru_maxrss is no use here: a child made by vfork and exec starts with its parent's peak.)"""
        main = self.peaks.get(self.drain, ("", 0))[1] if self.drain else 0
        return {"peak_rss_mb": round(main / 1024, 1), "peak_rss_tree_mb": round(self.peak_tree_kb / 1024, 1),
                "peak_rss_by_process_mb": {f"{pid} {what}": round(hwm / 1024, 1)
                                           for pid, (what, hwm) in sorted(self.peaks.items())}}

    def curve(self, count: int, seconds: float) -> dict:
        """Mails per second in each SEGMENT mails finished, from the first mail spooled on."""
        started = next((t for t, _f, spooled in self.samples if spooled), None)
        segments, previous = [], started
        for mark in range(SEGMENT, count + 1, SEGMENT):
            at = _crossing(self.samples, mark)
            if at is None or previous is None:
                break
            spooled = next(s for _t, f, s in self.samples if f >= mark)
            segments.append({"finished": mark, "at_seconds": round(at, 1), "spooled_then": spooled,
                             "mails_per_second": round(SEGMENT / (at - previous), 1)})
            previous = at
        rates = [segment["mails_per_second"] for segment in segments]
        return {
            "curve": segments,
            "slowest_over_fastest_segment": round(min(rates) / max(rates), 3) if rates else None,
            "first_spooled_at_seconds": round(started, 1) if started is not None else None,
            "all_spooled_at_seconds": _first_time(self.samples, lambda f, s: s >= count),
            "all_finished_at_seconds": _first_time(self.samples, lambda f, s: f >= count),
            "rate_after_first_spooled": round(count / (seconds - started), 1) if started is not None else None,
            "samples": len(self.samples),
        }


def _crossing(samples: list[tuple], mark: int) -> float | None:
    """When `mark` mails had finished, interpolated between the two samples around it."""
    for (t0, f0, _s0), (t1, f1, _s1) in zip([(0.0, 0, 0)] + samples, samples):
        if f1 >= mark:
            return t1 if f1 == f0 else t0 + (mark - f0) * (t1 - t0) / (f1 - f0)
    return None


def _first_time(samples: list[tuple], condition) -> float | None:
    return next((round(t, 1) for t, f, s in samples if condition(f, s)), None)


def _child_running(marker: bytes) -> int | None:
    """The pid of this process's child whose command line holds `marker`."""
    for pid in procs.children(os.getpid()):
        with contextlib.suppress(OSError):
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                return pid
    return None


def _command(pid: int) -> str:
    """A short name for what `pid` runs: the daemon's subcommand, or the multiprocessing role."""
    with contextlib.suppress(OSError):
        words = [w.decode(errors="replace") for w in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if w]
        if "--drain" in words:
            return "run --drain"
        for word in words:
            if "multiprocessing" in word:
                return "resource tracker" if "resource_tracker" in word else "parsing process"
        return " ".join(words[1:3])[:40]
    return ""


def main(argv: list[str]) -> None:
    benches = {"flat": flat, "curve": curve, "postgresql": postgresql}
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", metavar="flat|curve|postgresql", help="which to run (default: all three)")
    parser.add_argument("--count", type=int, help="mails per run (default 5,000; the curve 50,000)")
    parser.add_argument("--pairs", type=int, help="pairs of runs for flat and postgresql (default 2)")
    args = parser.parse_args(argv)
    if unknown := set(args.which) - benches.keys():
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    for name in args.which or benches:
        options = {"count": args.count} if args.count else {}
        if args.pairs and name != "curve":
            options["pairs"] = args.pairs
        print(json.dumps(benches[name](**options)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
