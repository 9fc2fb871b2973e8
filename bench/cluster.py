"""Several daemons on one PostgreSQL database, one Dovecot mailbox: throughput and failover.

`throughput(count, daemons)`: N generated mails with known threads (a third
replies, some by References alone) are appended to INBOX first, untimed; then
`daemons` processes start together and the clock runs from the first spooled
mail until every mail is filed, and on until the relay has every
acknowledgement. Reports mails per second, and the correctness figures
(stored once, threaded right, filed once, acknowledged once).

`failover()`: two daemons; the one reading the mailbox is SIGKILLed, and the
time is taken until the other holds the mailbox, and until a mail appended
right after the kill is spooled.
"""
from __future__ import annotations

import os
import signal
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from daemon.config import load_config
from daemon.store import db
from daemon.store.db import execute
from tests.cluster_harness import Daemons, figures, threaded_corpus, write_cluster_config
from tests.dovecot import running_dovecot
from tests.relay import Relay

PG_DSN = os.environ.get("PATROLDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
QUIET = "[log]\nlevel = \"WARNING\"\n"


@contextmanager
def _postgres_database():
    import psycopg2
    name = f"patroldesk_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(PG_DSN, connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        if not db.database.is_closed():
            db.database.close()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def _stage(root: Path, database_url: str):
    """Dovecot with a fresh account, a relay, and the cluster's config on an upgraded database."""
    with running_dovecot(root) as server:
        account = server.add_user(f"bench{uuid.uuid4().hex[:6]}")
        relay = Relay()
        relay.start()
        try:
            config_path = write_cluster_config(root, account, database_url, relay.port, sections=QUIET)
            db.open_database(load_config(config_path, {}))
            db.upgrade()
            yield account, relay, config_path
        finally:
            relay.stop()


def throughput(count: int, daemons: int) -> dict:
    corpus = threaded_corpus(count, seed=20261207)
    with tempfile.TemporaryDirectory(prefix="patroldesk-bench-") as tmp, _postgres_database() as url:
        root = Path(tmp)
        with _stage(root, url) as (account, relay, config_path):
            with account.client() as client:
                for start in range(0, count, 500):
                    client.multiappend("INBOX", corpus.mails[start:start + 500])
                processed = f"patroldesk{client.namespace().personal[0][1]}processed"
            cluster = Daemons(config_path, daemons, root / "logs")
            started = time.perf_counter()
            cluster.start_all()
            first = None
            try:
                while True:
                    spooled, unfiled = execute('SELECT COUNT(*), COUNT(*) - COUNT("filed_at") FROM "inbound"').fetchone()
                    if first is None and spooled:
                        first = time.perf_counter()
                    if spooled >= count and not unfiled:
                        break
                    if time.perf_counter() - started > 600:
                        raise RuntimeError(f"not drained in 600 s: {spooled} spooled, {unfiled} unfiled")
                    time.sleep(0.05)
                drained = time.perf_counter()
                while time.perf_counter() - drained < 120:
                    busy = execute('SELECT COUNT(*) FROM "outbox" WHERE "kind" = %s AND "state" IN (%s, %s, %s)',
                                   ("acknowledgement", "rendering", "queued", "sending")).fetchone()[0]
                    if not busy:
                        break
                    time.sleep(0.05)
                acknowledged = time.perf_counter()
            finally:
                cluster.stop_all()
            result = figures(corpus, account, relay, processed)
    return {"benchmark": "cluster_ingest", "database": "postgresql", "daemons": daemons, "mails": count,
            "seconds_after_startup": round(drained - first, 3),
            "mails_per_second": round(count / (drained - first), 1),
            "seconds_until_acknowledged": round(acknowledged - first, 3), **result}


def failover(trials: int = 3) -> dict:
    """Seconds from SIGKILL of the mailbox's poller until the other daemon holds the mailbox,
    and until a mail appended just after the kill is spooled (same host: known dead by its pid)."""
    holds, spools = [], []
    with tempfile.TemporaryDirectory(prefix="patroldesk-bench-") as tmp, _postgres_database() as url:
        root = Path(tmp)
        with _stage(root, url) as (account, _relay, config_path):
            cluster = Daemons(config_path, 2, root / "logs")
            cluster.start_all()
            try:
                for trial in range(trials):
                    holder = _wait_for_holder(None)
                    index = next(i for i, p in enumerate(cluster.processes) if f"/{p.pid}/" in holder)
                    cluster.processes[index].send_signal(signal.SIGKILL)
                    killed = time.perf_counter()
                    cluster.processes[index].wait()
                    account.append("INBOX", [_mail(trial)])
                    _wait_for_holder(holder)
                    holds.append(time.perf_counter() - killed)
                    while not execute('SELECT 1 FROM "inbound" WHERE "spooled_id" = %s',
                                      (f"failover-{trial}@customers.example",)).fetchone():
                        time.sleep(0.01)
                    spools.append(time.perf_counter() - killed)
                    cluster.start(index)  # back to two daemons for the next trial
            finally:
                cluster.stop_all()
    config = load_config(None, {})
    return {"benchmark": "mailbox_failover", "daemons": 2, "trials": trials,
            "heartbeat_seconds": 1, "dead_after_seconds": 3,
            "seconds_until_held": [round(s, 3) for s in holds],
            "seconds_until_new_mail_spooled": [round(s, 3) for s in spools],
            "default_dead_after_seconds": config.cluster.dead_after_seconds}


def _wait_for_holder(previous: str | None) -> str:
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        found = execute('SELECT "holder" FROM "lease" WHERE "name" = %s AND "until" >= now() AT TIME ZONE %s',
                        ("mailbox:support", "UTC")).fetchone()
        if found and found[0] and found[0] != previous:
            return found[0]
        time.sleep(0.01)
    raise RuntimeError("no daemon took the mailbox")


def _mail(trial: int) -> bytes:
    return (f"From: failover{trial}@customers.example\r\nTo: support@example.com\r\n"
            f"Subject: After the kill {trial}\r\nMessage-ID: <failover-{trial}@customers.example>\r\n\r\n"
            "Is anyone there?\r\n").encode()
