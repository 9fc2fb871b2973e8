"""The cluster test again with each daemon on a test host of its own: its own network namespace
and host name, reaching PostgreSQL, Dovecot and the relay over a veth link. A daemon of another
host cannot be known dead by its pid: its mailbox, mail and jobs are taken over when its
heartbeat stops.
"""
from __future__ import annotations

import random
import threading
import time
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import pytest

from daemon.config import load_config
from daemon.store import db
from tests.cluster_harness import (
    Daemons, chaos, figures, settle_possibly_sent, threaded_corpus, write_cluster_config,
)
from tests.conftest import wait_for
from tests.test_cluster import _a_digest_delivered, _all_done, _processed_folder
from tests.testhosts import Forwarder, namespace_hosts, unavailable

MAILS = 1000
KILLS = 4


@pytest.mark.timeout(480)
def test_daemons_on_three_hosts_killed_at_random_lose_nothing_and_thread_right(
        tmp_path, imap_account, postgres_url, relay):
    why = unavailable()
    if why:  # make test installs iproute2; a machine that forbids namespaces must say so, not pass
        pytest.fail(f"test hosts cannot be made: {why}", pytrace=False)
    corpus = threaded_corpus(MAILS, seed=20261208)
    database = urlsplit(postgres_url)
    targets = {"postgresql": (database.hostname, database.port or 5432),
               "imap": (imap_account.host, imap_account.port), "relay": ("127.0.0.1", relay.port)}
    db.open_database(load_config(write_cluster_config(tmp_path, imap_account, postgres_url, relay.port), {}))
    db.upgrade()
    with namespace_hosts(3) as hosts:
        forwarders = [Forwarder([(h.gateway, port) for h in hosts], (host, port)) for host, port in targets.values()]
        for forwarder in forwarders:
            forwarder.start()
        configs = []
        for host in hosts:
            (tmp_path / host.name).mkdir()
            url = urlunsplit(database._replace(netloc=f"{database.username}@{host.gateway}:{targets['postgresql'][1]}"))
            account = SimpleNamespace(host=host.gateway, port=imap_account.port, user=imap_account.user,
                                      password=imap_account.password)
            configs.append(write_cluster_config(tmp_path / host.name, account, url, relay.port, relay_host=host.gateway))
        daemons = Daemons(configs, 3, tmp_path / "logs", wrap=lambda i, argv: hosts[i].command(argv))
        daemons.start_all()
        rng = random.Random(23)
        killer = threading.Thread(target=chaos, args=(daemons, KILLS, rng, (1.0, 3.0)))
        try:
            killer.start()
            for start in range(0, MAILS, 100):
                imap_account.append("INBOX", corpus.mails[start:start + 100])
                time.sleep(rng.uniform(0.2, 0.8))
            killer.join()
            processed = _processed_folder(imap_account)
            try:
                wait_for(_all_done(imap_account, processed, MAILS), timeout=300, interval=0.5)
                wait_for(lambda: _a_digest_delivered(relay), timeout=75, interval=0.5)
                settled = settle_possibly_sent(relay)
                wait_for(_all_done(imap_account, processed, MAILS), timeout=60, interval=0.5)
            except AssertionError:
                pytest.fail(f"not done: {figures(corpus, imap_account, relay, processed)}\n"
                            f"{daemons.log_text()[-8000:]}")
        finally:
            killer.join()
            daemons.stop_all()
            for forwarder in forwarders:
                forwarder.stop()
    result = figures(corpus, imap_account, relay, processed)
    logs = daemons.log_text()
    summary = f"{result}, settled by a person: {settled}\n{logs[-6000:]}"
    assert result["stored"] == MAILS and result["stored_twice"] == 0 and result["missing"] == 0, summary
    assert result["spool"] == {"done": MAILS}, summary
    assert result["misthreaded"] == 0 and result["tickets"] == result["threads"], summary
    assert result["processed_folder"] == MAILS and result["inbox"] == 0, summary
    assert result["acknowledgements"] == result["threads"], summary
    # A mail whose daemon was killed while the relay had it is "possibly sent", and a person settled
    # it (sent again only if the relay never got it): every acknowledgement arrived exactly once.
    assert result["acks_delivered_once"] == result["acknowledgements"], summary
    assert result["acks_uncertain"] == 0 and result["acks_delivered_twice"] == 0, summary
    assert result["digest_periods_unfinished"] == 0 and result["digests_delivered"] == 1, summary
    assert "Traceback" not in logs, summary
    from daemon.store.db import execute
    hosts_seen = {row[0] for row in execute('SELECT "host" FROM "node"').fetchall()}
    assert hosts_seen == {"testhost1", "testhost2", "testhost3"}, hosts_seen
