"""One holder at a time: leases, liveness and the mailbox's poller, on SQLite and PostgreSQL.

A lease's holder is known dead at once on this host (its pid is gone) and on
another host when its heartbeat is older than dead_after; until then nobody
else may take it.
"""
from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys

import pytest

from daemon.store import cluster, db
from daemon.store.models import JobRun, Lease, Node, utcnow
from tests.conftest import make_config


@pytest.fixture
def store(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url)
    handle = db.open_database(config)
    db.upgrade()
    yield config
    handle.close()


@pytest.fixture
def someone_else(monkeypatch):
    """Run a block as another process of this host that still runs (this test's parent)."""
    import os

    def become(identity: str | None = None):
        who = identity or _identity_of(os.getppid())
        monkeypatch.setattr(cluster, "process_identity", lambda: who)
    return become


def _identity_of(pid: int) -> str:
    return f"{socket.gethostname()}/{pid}/{cluster._start_time(pid)}"


def test_a_free_lease_is_taken_and_a_held_one_is_refused(store, someone_else):
    mine = cluster.process_identity()
    assert cluster.acquire("mailbox:a", 30, dead_after=10)
    assert cluster.holds("mailbox:a", margin=5)
    someone_else()  # the parent process: alive, so its claim cannot be broken
    assert not cluster.acquire("mailbox:a", 30, dead_after=10)
    assert not cluster.holds("mailbox:a")
    assert Lease.get(Lease.name == "mailbox:a").holder == mine


def test_a_lease_of_a_killed_process_on_this_host_is_taken_over_at_once(store, tmp_path):
    script = ("import sys, time; from daemon.store import cluster, db; from daemon.config import load_config; "
              f"import dataclasses; from tests.conftest import make_config; from pathlib import Path; "
              f"c = make_config(Path({str(tmp_path)!r}), {store.database.url!r}); db.open_database(c); "
              "assert cluster.acquire('mailbox:a', 3600, dead_after=10); print(cluster.process_identity(), flush=True); "
              "time.sleep(600)")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        holder = child.stdout.readline().strip()
        assert holder and Lease.get(Lease.name == "mailbox:a").holder == holder
        assert not cluster.acquire("mailbox:a", 30, dead_after=10)  # alive: refused, lease or not
    finally:
        child.kill()
        child.wait()
    assert cluster.acquire("mailbox:a", 30, dead_after=10)  # an hour of lease left, and taken now
    lease = Lease.get(Lease.name == "mailbox:a")
    assert lease.holder == cluster.process_identity() and lease.takeovers == 1


def test_a_holder_on_another_host_is_dead_only_when_its_heartbeat_is_old(store):
    other = "elsewhere.example/4242/99"
    now = utcnow()
    Node.create(identity=other, host="elsewhere.example", pid=4242, roles="ingest", started_at=now,
                heartbeat_at=now - dt.timedelta(seconds=5))
    Lease.create(name="mailbox:a", holder=other, until=now + dt.timedelta(seconds=60), taken_at=now)
    assert not cluster.acquire("mailbox:a", 30, dead_after=10, now=now)
    assert cluster.acquire("mailbox:a", 30, dead_after=10, now=now + dt.timedelta(seconds=6))
    # A one-off command of another host never registered: only its lease running out frees its claim.
    stranger = "elsewhere.example/77/1"
    Lease.create(name="mailbox:b", holder=stranger, until=now + dt.timedelta(seconds=60), taken_at=now)
    assert not cluster.is_dead(stranger, 10, now)
    assert not cluster.acquire("mailbox:b", 30, dead_after=10, now=now + dt.timedelta(seconds=30))
    assert cluster.acquire("mailbox:b", 30, dead_after=10, now=now + dt.timedelta(seconds=61))


def test_a_clean_stop_lets_go_at_once_and_the_heartbeat_renews(store):
    member = cluster.Membership(("ingest",), heartbeat_seconds=60, dead_after=10)
    member.start()
    assert cluster.acquire("mailbox:a", 1, dead_after=10)
    member.beat()  # renews to dead_after
    until = Lease.get(Lease.name == "mailbox:a").until
    assert until > utcnow() + dt.timedelta(seconds=8)
    member.stop()
    lease = Lease.get(Lease.name == "mailbox:a")
    assert lease.holder is None
    node = Node.get(Node.identity == cluster.process_identity())
    assert node.stopped_at is not None and node.roles == "ingest"


def test_a_job_runs_once_per_period_and_again_only_when_its_runner_died(store, someone_else):
    assert cluster.claim_job("digest", "2026-12-07T07:00:00Z", dead_after=10)
    cluster.finish_job("digest", "2026-12-07T07:00:00Z")
    assert not cluster.claim_job("digest", "2026-12-07T07:00:00Z", dead_after=10)
    someone_else()
    assert cluster.claim_job("digest", "2026-12-08T07:00:00Z", dead_after=10)  # held by a live process...
    someone_else(f"{socket.gethostname()}/999999999/1")
    assert not cluster.claim_job("digest", "2026-12-07T07:00:00Z", dead_after=10)
    # ... and a pid that no longer runs: its period is taken over, once.
    JobRun.update(holder=f"{socket.gethostname()}/999999998/1").where(
        JobRun.period == "2026-12-08T07:00:00Z").execute()
    assert cluster.orphaned_jobs(10) == [("digest", "2026-12-08T07:00:00Z")]
    assert cluster.claim_job("digest", "2026-12-08T07:00:00Z", dead_after=10)
    assert JobRun.get(JobRun.period == "2026-12-08T07:00:00Z").attempts == 2


def test_the_period_of_a_cron_job_is_its_latest_fire_time():
    from apscheduler.triggers.cron import CronTrigger
    trigger = CronTrigger.from_crontab("0 7 * * mon", timezone="UTC")
    monday = dt.datetime(2026, 12, 7, 7, 0, 3, tzinfo=dt.timezone.utc)
    assert cluster.last_fire_time(trigger, monday) == monday.replace(second=0)
    assert cluster.last_fire_time(trigger, monday - dt.timedelta(minutes=1)) is None  # a week back: beyond a day
    every = CronTrigger.from_crontab("*/5 * * * *", timezone="UTC")
    assert cluster.last_fire_time(every, monday) == monday.replace(second=0)
    assert cluster.last_fire_time(every, monday + dt.timedelta(minutes=4)) == monday.replace(second=0)
