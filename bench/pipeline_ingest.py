"""Ingest throughput through the spool and the pipeline, on SQLite (or PostgreSQL), no mail server.

Spools N generated mails, then drains the spool with the pipeline, and
reports mails per second for each phase and the process's peak RSS.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import resource
import tempfile
import time
import uuid

from bench.mailgen import corpus
from daemon.config import load_config
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.store import db
from daemon.store.models import Inbound, Ticket


PG_DSN = os.environ.get("PATROLDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def run(count: int, postgresql: bool = False) -> dict:
    mails = corpus(count)
    with tempfile.TemporaryDirectory() as tmp, _database(tmp, postgresql) as url:
        base = load_config(None, {})
        config = dataclasses.replace(
            base, database=dataclasses.replace(base.database, url=url),
            paths=dataclasses.replace(base.paths, var=f"{tmp}/var"))
        db.open_database(config)
        db.upgrade()
        started = time.perf_counter()
        for raw in mails:
            spool.enqueue(raw, "bench")
        spooled = time.perf_counter()
        results = pipeline.drain(config)
        drained = time.perf_counter()
        outcome = {
            "benchmark": "pipeline_ingest", "database": "postgresql" if postgresql else "sqlite", "mails": count,
            "tickets": Ticket.select().count(),
            "outcomes": {o: sum(1 for r in results if r.outcome == o) for o in sorted({r.outcome for r in results})},
            "spool_seconds": round(spooled - started, 3),
            "pipeline_seconds": round(drained - spooled, 3),
            "pipeline_mails_per_second": round(count / (drained - spooled), 1),
            "end_to_end_mails_per_second": round(count / (drained - started), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "unfinished": Inbound.select().where(Inbound.state.in_(("queued", "processing"))).count(),
        }
        db.database.close()
    return outcome


@contextlib.contextmanager
def _database(tmp: str, postgresql: bool):
    """A SQLite file in `tmp`, or a new PostgreSQL database dropped afterwards."""
    if not postgresql:
        yield f"sqlite:///{tmp}/bench.db"
        return
    import psycopg2
    name = f"patroldesk_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
