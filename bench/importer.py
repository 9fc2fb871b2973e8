"""`patroldesk import mbox` of a generated archive: mails per second, and the importing process's peak memory.

The archive is bench.mailgen's mixed corpus (new mail, replies, auto-replies,
many charsets) written to one mbox; the import runs as the command a person
types, in its own process, into an empty SQLite installation, and its peak
resident memory is read from the kernel when it ends.
"""
from __future__ import annotations

import json
import mailbox
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "daemon", "import", "mbox", str(archive), "--json"],
                              cwd=folder, env=env, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        size = archive.stat().st_size
    return {"benchmark": "import_mbox", "database": "sqlite", "mails": count, "mbox_mb": round(size / 2**20, 1),
            "seconds": round(seconds, 1), "mails_per_second": round(count / seconds),
            "peak_rss_mb": round(max(peak_kb, before) / 1024, 1), **{k: summary[k] for k in (
                "created", "threaded", "duplicate", "ignored", "quarantined")}}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)))
