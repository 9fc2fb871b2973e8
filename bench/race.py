"""The race: patroldesk against django-helpdesk, interleaved, on the same mail and the same Dovecot.

One private Dovecot for the whole race; every run gets a fresh user whose INBOX
is loaded (untimed) with the same generated corpus, so both sides read
identical bytes. Runs alternate, ours then the peer's, for `pairs` pairs.
Timed is the whole command, from spawn to exit: ours `python -m daemon run
--drain --json` (fetch, process, file to the processed folder, acknowledge),
the peer's `manage.py get_email` (django-helpdesk from PyPI, in its own
virtualenv under var/bench/peer/, on SQLite in WAL mode, its mail written to
files). Per run: wall seconds, mails per second, the command's CPU seconds
(user + system) from wait4, peak RSS sampled from /proc (its own and its process tree's), the load average before it, and
correctness read from each side's database with plain SQL: replies filed in
their parent's ticket, bodies holding their sentence exactly, automatic mail
that became a ticket, tickets made, mails left in INBOX and mails lost.
The expected facts come from the corpus bytes themselves (stdlib `email`).
One JSON line per run, then a summary: medians of both sides and of the ratio.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import email
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from email import policy
from pathlib import Path

from bench import procs
from bench.mailgen import SUPPORT, corpus
from daemon.config import load_config
from daemon.store import db
from tests.dovecot import running_dovecot, write_daemon_config

PEER_PACKAGE = "django-helpdesk==2.6.1"
PEER_HOME = Path(__file__).resolve().parent.parent / "var" / "bench" / "peer"  # gitignored, kept between races
TIMEOUT = 900  # seconds any one command may take before it is killed
APPEND_CHUNK = 500

_SETTINGS = """\
SECRET_KEY = "race-only"
DEBUG = False
ROOT_URLCONF = "urls"
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages", "django.contrib.sites",
                  "django.contrib.humanize", "rest_framework", "helpdesk"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
TEMPLATES = [{{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {{"context_processors": ["django.template.context_processors.request",
                                                 "django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages"]}}}}]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {database!r},
                         "OPTIONS": {{"init_command": "PRAGMA journal_mode=WAL;"}}}}}}
HELPDESK_TEAMS_MODE_ENABLED = False
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = {sent!r}
DEFAULT_FROM_EMAIL = {support!r}
MEDIA_ROOT = {media!r}
"""
_URLS = """\
from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("admin/", admin.site.urls), path("", include("helpdesk.urls"))]
"""
_MANAGE = """\
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""
_QUEUE = """\
import json
from helpdesk.models import Queue
Queue.objects.create(**json.loads({fields!r}))
"""
_SENT_SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # what Django's file backend writes after each message
_VERSIONS = "import django, importlib.metadata as m; print(m.version('django-helpdesk'), django.get_version())"
# One row per stored mail: its Message-ID, its ticket, its text, and whether it opened that ticket.
_OURS_ROWS = ("SELECT m.message_id, m.ticket_id, m.body_text, "
              "m.id = (SELECT MIN(n.id) FROM message n WHERE n.ticket_id = m.ticket_id) "
              "FROM message m WHERE m.kind = 'inbound'")
_OURS_KEPT = "SELECT spooled_id FROM inbound WHERE state IN ('discarded', 'quarantined')"
_PEER_ROWS = ("SELECT f.message_id, f.ticket_id, f.comment, "
              "f.id = (SELECT MIN(g.id) FROM helpdesk_followup g WHERE g.ticket_id = f.ticket_id) "
              "FROM helpdesk_followup f")


@dataclass(frozen=True)
class Fact:
    """What a corpus mail is, read from its own bytes."""
    parent: str | None  # the Message-ID it answers
    automatic: bool
    sentence: str  # the first line of its text/plain part
    charset: str  # ... and that part's charset


def run(count: int, pairs: int = 3) -> dict:
    """Race `pairs` pairs of runs over `count` mails; print a JSON line per run; return the summary."""
    mails = corpus(count)
    facts = expected_facts(mails)
    python = peer_python()
    runs = []
    with tempfile.TemporaryDirectory(prefix="patroldesk-race-") as tmp, running_dovecot(Path(tmp)) as server:
        for pair in range(pairs):
            for side in (_ours, _peer):
                result = _one_run(side, f"{side.__name__[1:]}{pair}", server, Path(tmp), mails, facts, python)
                result.update(pair=pair, mails_per_second=round(count / result["seconds"], 1))
                print(json.dumps(result), flush=True)
                runs.append(result)
    return _summary(runs, count, python)


def fresh_mailbox(server, name: str, mails: list[bytes]):
    """A new user on the Dovecot `server` whose INBOX holds `mails` (appended untimed)."""
    account = server.add_user(name)
    with account.client() as client:
        for start in range(0, len(mails), APPEND_CHUNK):
            client.multiappend("INBOX", mails[start:start + APPEND_CHUNK])
    return account


def _one_run(side, name: str, server, tmp: Path, mails: list[bytes], facts: dict, python: Path) -> dict:
    """One side reads a fresh mailbox holding the corpus; its folder is removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp))
    try:
        account = fresh_mailbox(server, name, mails)
        load = os.getloadavg()
        result, stored = side(folder, account, python)
        left = _left_in_inbox(account)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"benchmark": "race", "mails": len(mails), **result, "load_before": [round(x, 2) for x in load],
            "correctness": _score(facts, *stored, left)}


def _left_in_inbox(account) -> set[str]:
    """The Message-IDs of the mails still in INBOX (flagged deleted or not)."""
    with account.client() as client:
        client.select_folder("INBOX", readonly=True)
        fetched = client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    heads = (email.message_from_bytes(data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]) for data in fetched.values())
    return {_bare(head["Message-ID"]) for head in heads if head["Message-ID"]}


def expected_facts(mails: list[bytes]) -> dict[str, Fact]:
    """{Message-ID: Fact} for the corpus, decoded with the standard library alone."""
    facts = {}
    for raw in mails:
        message = email.message_from_bytes(raw, policy=policy.default)
        parent = message["In-Reply-To"]
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content()
        facts[_bare(message["Message-ID"])] = Fact(
            parent=_bare(parent) if parent else None,
            automatic=(message["Auto-Submitted"] or "no").strip().lower() != "no",
            sentence=text.splitlines()[0], charset=body.get_content_charset())
    return facts


def peer_python() -> Path:
    """The peer's interpreter: a virtualenv with django-helpdesk, made once and reused."""
    venv = PEER_HOME / "venv"
    marker = venv / f".installed-{PEER_PACKAGE}"
    if not marker.exists():
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        _setup([sys.executable, "-m", "venv", str(venv)], PEER_HOME)
        _setup([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", PEER_PACKAGE], PEER_HOME)
        marker.touch()
    return venv / "bin" / "python"


def _ours(folder: Path, account, _python: Path) -> tuple[dict, tuple]:
    config_path = write_daemon_config(folder, account, name="race", support=SUPPORT,
                                      sections='[log]\nlevel = "WARNING"\n')
    db.open_database(load_config(str(config_path), {}))
    db.upgrade()
    db.database.close()
    timed = _timed([sys.executable, "-m", "daemon", "--config", str(config_path), "run", "--drain", "--json"],
                   folder)
    with _read_only(folder / "patroldesk.db") as database:
        rows = database.execute(_OURS_ROWS).fetchall()
        kept = {_bare(mid) for (mid,) in database.execute(_OURS_KEPT) if mid}
        tickets = database.execute("SELECT COUNT(*) FROM ticket").fetchone()[0]
    out = (folder / "stdout").read_text().strip().splitlines()
    timed["drain"] = json.loads(out[-1]) if out and timed["exit_status"] == 0 else None  # its own summary
    return {"side": "patroldesk", **timed}, (rows, kept, tickets)


def _peer(folder: Path, account, python: Path) -> tuple[dict, tuple]:
    (folder / "sent").mkdir()
    (folder / "settings.py").write_text(_SETTINGS.format(
        database=str(folder / "helpdesk.sqlite3"), sent=str(folder / "sent"), support=SUPPORT,
        media=str(folder / "media")))
    (folder / "urls.py").write_text(_URLS)
    (folder / "manage.py").write_text(_MANAGE)
    manage = [str(python), str(folder / "manage.py")]
    fields = {"title": "Race", "slug": "race", "email_address": SUPPORT, "allow_email_submission": True,
              "email_box_type": "imap", "email_box_host": account.host, "email_box_port": account.port,
              "email_box_ssl": False, "email_box_user": account.user, "email_box_pass": account.password,
              "email_box_imap_folder": "INBOX", "email_box_interval": 0}
    _setup(manage + ["migrate", "--noinput"], folder)
    _setup(manage + ["shell", "-c", _QUEUE.format(fields=json.dumps(fields))], folder)
    timed = _timed(manage + ["get_email"], folder)
    with _read_only(folder / "helpdesk.sqlite3") as database:
        rows = database.execute(_PEER_ROWS).fetchall()
        tickets = database.execute("SELECT COUNT(*) FROM helpdesk_ticket").fetchone()[0]
        timed["journal_mode"] = database.execute("PRAGMA journal_mode").fetchone()[0]
    # The file backend appends to one file per second and connection: count the messages, not the files.
    timed["mail_sent"] = sum(path.read_bytes().count(_SENT_SEPARATOR) for path in (folder / "sent").iterdir())
    return {"side": "django-helpdesk", **timed}, (rows, set(), tickets)


def _score(facts: dict[str, Fact], rows: list[tuple], kept: set[str], tickets: int, left: set[str]) -> dict:
    """The correctness figures from (Message-ID, ticket, text, opened its ticket) rows."""
    stored = {_bare(mid): (ticket, text, opened) for mid, ticket, text, opened in rows if mid}
    replies = [(mid, fact.parent) for mid, fact in facts.items() if fact.parent in stored]
    automatic = [mid for mid, fact in facts.items() if fact.automatic]
    wrong = collections.Counter(facts[mid].charset if mid in facts else "not in the corpus"
                                for mid, (_ticket, text, _opened) in stored.items()
                                if mid not in facts or facts[mid].sentence not in (text or ""))
    return {
        "tickets": tickets,
        "stored": len(stored),
        "stored_twice": len(rows) - len(stored),
        "replies_threaded": sum(1 for mid, parent in replies
                                if mid in stored and stored[mid][0] == stored[parent][0]),
        "replies_with_parent_ticket": len(replies),
        "bodies_decoded": len(stored) - sum(wrong.values()),
        "bodies_wrong_by_charset": dict(sorted(wrong.items())),
        "automatic_ticketed": sum(1 for mid in automatic if mid in stored and stored[mid][2]),
        "automatic_mails": len(automatic),
        "kept_aside": len(kept - stored.keys()),  # discarded or quarantined, its bytes kept
        "left_in_inbox": len(left),
        "lost": len(facts.keys() - stored.keys() - kept - left),
    }


def _timed(argv: list[str], folder: Path) -> dict:
    """Run a command to its end (killed after TIMEOUT): wall and CPU seconds, peak RSS, exit status."""
    with open(folder / "stdout", "wb") as stdout, open(folder / "stderr", "wb") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=folder, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                 start_new_session=True)
        killer = threading.Timer(TIMEOUT, _kill_group, (child.pid,))
        killer.start()
        memory = procs.Memory(child.pid)  # wait4's peak would be the race's own: see bench/procs.py
        try:
            _pid, status, usage = os.wait4(child.pid, 0)  # CPU: the child's and its reaped children's
        finally:
            killer.cancel()
            peaks = memory.halt()
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        tail = (folder / "stderr").read_text(errors="replace")[-2000:]
        print(f"{argv[-1]} exited with {child.returncode}:\n{tail}", file=sys.stderr, flush=True)
    return {"exit_status": child.returncode, "timed_out": wall >= TIMEOUT,
            "seconds": round(wall, 3), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2), **peaks}


def _setup(argv: list[str], folder: Path) -> None:
    """An untimed step of setting up the peer; its output is shown only when it fails."""
    done = subprocess.run(argv, check=False, cwd=folder, capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:3])} failed ({done.returncode}):\n{done.stderr[-4000:]}")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


@contextlib.contextmanager
def _read_only(path: Path):
    database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield database
    finally:
        database.close()


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>")


def _summary(runs: list[dict], count: int, python: Path) -> dict:
    sides = {}
    for name in ("patroldesk", "django-helpdesk"):
        mine = [r for r in runs if r["side"] == name]
        figures = [r["correctness"] for r in mine]
        sides[name] = {key: round(statistics.median(r[key] for r in mine), 3)
                       for key in ("mails_per_second", "seconds", "cpu_seconds", "peak_rss_mb", "peak_rss_tree_mb")}
        sides[name]["failed_runs"] = sum(1 for r in mine if r["exit_status"] != 0)
        sides[name]["correctness"] = figures[0] if all(f == figures[0] for f in figures) else figures
    pairs = list(zip(runs[0::2], runs[1::2]))  # (ours, peer), as they ran
    version = subprocess.run([str(python), "-c", _VERSIONS], check=True, capture_output=True, text=True,
                             timeout=TIMEOUT).stdout.split()
    return {
        "benchmark": "race_summary", "mails": count, "pairs": len(pairs),
        "peer": f"django-helpdesk {version[0]} (Django {version[1]}), SQLite in WAL mode",
        "ratio": round(statistics.median(o["mails_per_second"] / p["mails_per_second"] for o, p in pairs), 2),
        "cpu_ratio": round(statistics.median(p["cpu_seconds"] / o["cpu_seconds"] for o, p in pairs), 2),
        **sides,
        "load_before": [r["load_before"] for r in runs],
        "load_1min_median": round(statistics.median(r["load_before"][0] for r in runs), 2),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.race", description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=5000, help="mails in the corpus (default 5,000)")
    parser.add_argument("--pairs", type=int, default=3, help="pairs of runs, ours then the peer's (default 3)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.count, args.pairs)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
