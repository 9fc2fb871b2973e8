"""Three daemons on one PostgreSQL database, one Dovecot mailbox, one relay, and SIGKILLs at random.

The corpus's threads are known, so the test can say of every mail whether it
was stored once, threaded into its parent's ticket, moved to the processed
folder once, and acknowledged once at the relay; and of the digest, that it
went once per period.
"""
from __future__ import annotations

import random
import threading
import time

import pytest

from daemon.config import load_config
from daemon.store import cluster, db
from tests.cluster_harness import (
    DIGEST_TO, Daemons, chaos, figures, settle_possibly_sent, threaded_corpus, write_cluster_config,
)
from tests.conftest import wait_for

MAILS = 1000
KILLS = 6


def _processed_folder(account) -> str:
    with account.client() as client:
        return f"patroldesk{client.namespace().personal[0][1]}processed"


def _all_done(account, processed: str, count: int):
    from daemon.store.db import execute

    def check():
        finished = execute('SELECT COUNT(*) FROM "inbound" WHERE "state" IN (?, ?, ?) AND "filed_at" IS NOT NULL',
                           ("done", "discarded", "quarantined")).fetchone()[0]
        busy = execute('SELECT COUNT(*) FROM "outbox" WHERE "state" IN (?, ?, ?)',
                       ("rendering", "queued", "sending")).fetchone()[0]
        return finished >= count and not busy and account.count(processed) >= count
    return check


def _a_digest_delivered(relay) -> bool:
    return any(DIGEST_TO in recipients for _, recipients, _ in relay.received)


@pytest.mark.timeout(420)
def test_three_daemons_killed_at_random_lose_nothing_double_nothing_and_thread_right(
        tmp_path, imap_account, postgres_url, relay):
    corpus = threaded_corpus(MAILS)
    config_path = write_cluster_config(tmp_path, imap_account, postgres_url, relay.port)
    db.open_database(load_config(config_path, {}))
    db.upgrade()
    daemons = Daemons(config_path, 3, tmp_path / "logs")
    daemons.start_all()
    rng = random.Random(17)
    killer = threading.Thread(target=chaos, args=(daemons, KILLS, rng))
    try:
        killer.start()
        for start in range(0, MAILS, 100):  # mail keeps coming while daemons die
            imap_account.append("INBOX", corpus.mails[start:start + 100])
            time.sleep(rng.uniform(0.1, 0.6))
        killer.join()
        processed = _processed_folder(imap_account)
        try:
            wait_for(_all_done(imap_account, processed, MAILS), timeout=240, interval=0.5)
            wait_for(lambda: _a_digest_delivered(relay), timeout=75, interval=0.5)  # the digest runs each minute
            settled = settle_possibly_sent(relay)
            wait_for(_all_done(imap_account, processed, MAILS), timeout=60, interval=0.5)  # what was sent again
            alive_at_the_end = sum(node["alive"] for node in cluster.nodes(dead_after=3))
        except AssertionError:
            pytest.fail(f"not done: {figures(corpus, imap_account, relay, processed)}\n{daemons.log_text()[-8000:]}")
    finally:
        killer.join()
        daemons.stop_all()
    result = figures(corpus, imap_account, relay, processed)
    logs = daemons.log_text()
    summary = f"{result}, settled by a person: {settled}\n{logs[-6000:]}"
    assert daemons.kills == KILLS
    assert result["stored"] == MAILS and result["stored_twice"] == 0 and result["missing"] == 0, summary
    assert result["spool"] == {"done": MAILS}, summary
    assert result["misthreaded"] == 0 and result["tickets"] == result["threads"], summary
    assert result["processed_folder"] == MAILS and result["inbox"] == 0, summary
    assert result["acknowledgements"] == result["threads"], summary
    # A mail a daemon was killed in the middle of handing over is "possibly sent": at most once,
    # and left for a person. Every other acknowledgement reached the relay exactly once.
    # A mail whose daemon was killed while the relay had it is "possibly sent", and a person settled
    # it (sent again only if the relay never got it): every acknowledgement arrived exactly once.
    assert result["acks_delivered_once"] == result["acknowledgements"], summary
    assert result["acks_uncertain"] == 0 and result["acks_delivered_twice"] == 0, summary
    assert result["digest_periods"] >= 1 and result["digest_periods_unfinished"] == 0, summary
    assert result["digests_delivered"] == 1, summary  # one period's digest per day, whoever runs the job
    # Each period's job ran once: in one daemon, or again in another only when its runner was killed.
    from daemon.store.db import execute
    runs = logs.count("queued the patrol digest") + logs.count("was queued before; not again")
    attempts = execute('SELECT SUM("attempts") FROM "job_run" WHERE "job" = ?', ("patrol-digest",)).fetchone()[0]
    assert result["digest_periods"] <= runs <= attempts, (runs, attempts, summary)
    assert "Traceback" not in logs, summary
    assert alive_at_the_end == 3, summary  # all three worked to the end (a key or port problem would stop one)
