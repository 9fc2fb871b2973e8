"""`patroldesk import mbox` of a generated archive: mails per second, and the importing process's peak memory.

The archive is bench.mailgen's mixed corpus (new mail, replies, auto-replies,
many charsets) written to one mbox; the import runs as the command a person
types, in its own process, into an empty SQLite installation, and its peak
resident memory is that process's own high-water mark, sampled while it runs
(bench/procs.py: getrusage's figure for a child would be this bench's own peak,
the corpus it generated).
"""
from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import procs
from bench.mailgen import corpus


def run(count: int = 50_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        archive = folder / "old.mbox"
        box = mailbox.mbox(str(archive))
        for data in corpus(count):
            box.add(data)
        box.flush()
        box.close()
        (folder / "patroldesk.toml").write_text('[database]\nurl = "sqlite:///var/patroldesk.db"\n'
                                                '[smtp]\nport = 0\n[web]\nport = 0\n')
        env = dict(os.environ, PATROLDESK_CONFIG=str(folder / "patroldesk.toml"),
                   PATROLDESK_ADMIN_PASSWORD="a bench password of some length")
        subprocess.run([sys.executable, "-m", "daemon", "init"], cwd=folder, env=env, check=True,
                       capture_output=True)
        started = time.perf_counter()
        with open(folder / "out", "wb") as out:
            importing = subprocess.Popen([sys.executable, "-m", "daemon", "import", "mbox", str(archive), "--json"],
                                         cwd=folder, env=env, stdout=out, stderr=subprocess.DEVNULL)
            memory = procs.Memory(importing.pid)
            early, early_seconds = None, max(10, count // 1000)  # whether the peak still grows after that
            while importing.poll() is None:
                time.sleep(0.2)
                if early is None and time.perf_counter() - started > early_seconds:
                    early = memory.peak_kb
            figures = memory.halt()
        seconds = time.perf_counter() - started
        if importing.returncode != 0:
            raise RuntimeError(f"import failed with exit {importing.returncode}")
        done = (folder / "out").read_text()
        summary = json.loads(done.strip().splitlines()[-1])
        size = archive.stat().st_size
    return {"benchmark": "import_mbox", "database": "sqlite", "mails": count, "mbox_mb": round(size / 2**20, 1),
            "seconds": round(seconds, 1), "mails_per_second": round(count / seconds),
            "peak_rss_mb": figures["peak_rss_mb"], f"peak_rss_mb_after_{early_seconds}s": round((early or 0) / 1024, 1),
            **{k: summary[k] for k in (
                "created", "threaded", "duplicate", "ignored", "quarantined")}}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)))
