"""`patroldesk backup` and `restore` of the console bench's store: 100,000 tickets, 500,000 messages.

The store is bench.console's (rows written straight into SQLite), with a few
thousand attachment files beside it. Each command runs as a person types it,
in its own process: the backup, a restore into a fresh folder, and a restore
`--into` an empty PostgreSQL database (the way from SQLite to PostgreSQL).
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import cluster, console
from daemon.config import load_config
from daemon.store import db

_CONFIG = '[database]\nurl = "sqlite:///{folder}/var/desk.db"\n[smtp]\nport = 0\n[web]\nport = 0\n'


def _installation(folder: Path) -> dict:
    folder.mkdir(mode=0o700)
    (folder / "patroldesk.toml").write_text(_CONFIG.format(folder=folder))
    return dict(os.environ, PATROLDESK_CONFIG=str(folder / "patroldesk.toml"))


def _timed(command: list[str], env: dict) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "daemon", *command], env=env, check=True, capture_output=True)
    return round(time.perf_counter() - began, 1)


def _attachments(root: Path, count: int, size: int, seed: int = 3) -> None:
    import hashlib
    rng = random.Random(seed)
    for _ in range(count):
        data = rng.randbytes(size)
        digest = hashlib.sha256(data).hexdigest()
        (root / digest[:2]).mkdir(mode=0o700, parents=True, exist_ok=True)
        (root / digest[:2] / digest).write_bytes(data)


def run(tickets: int = 100_000, messages: int = 500_000, attachments: int = 2000, postgresql: bool = True) -> dict:
    with tempfile.TemporaryDirectory(prefix="patroldesk-bench-") as tmp:
        source = Path(tmp) / "source"
        env = _installation(source)
        config = load_config(source / "patroldesk.toml", {})
        db.open_database(config)
        db.upgrade()
        began = time.perf_counter()
        console.build(tickets, messages)
        _attachments(config.attachments_dir, attachments, 16_384)
        built = time.perf_counter() - began
        db.database.close()
        database_mb = (source / "var" / "desk.db").stat().st_size / 2**20
        archive = Path(tmp) / "desk.tar.gz"
        figures = {"backup_seconds": _timed(["backup", str(archive)], env),
                   "archive_mb": round(archive.stat().st_size / 2**20, 1)}
        figures["restore_sqlite_seconds"] = _timed(["restore", str(archive)], _installation(Path(tmp) / "plain"))
        if postgresql:
            with cluster._postgres_database() as url:
                figures["restore_into_postgresql_seconds"] = _timed(["restore", str(archive), "--into", url],
                                                                    _installation(Path(tmp) / "grown"))
    return {"benchmark": "backup_restore", "database": "sqlite", "tickets": tickets, "messages": messages,
            "attachments": attachments, "build_seconds": round(built, 1), "database_mb": round(database_mb, 1),
            **figures}


if __name__ == "__main__":
    sizes = [int(arg) for arg in sys.argv[1:3]]
    print(json.dumps(run(*sizes)))
