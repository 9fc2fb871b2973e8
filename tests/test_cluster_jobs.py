"""Cluster-wide jobs run once per period, whichever daemons fire them: real processes on one
database (SQLite and PostgreSQL), one of them killed with SIGKILL in the middle of a job.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from daemon.config import load_config
from daemon.store import cluster, db
from daemon.store.models import JobRun, Outgoing
from tests.conftest import wait_for

PERIOD = "2026-03-04T06:00:00Z"

# One process's part: claim and run job "tally" for PERIOD when the test says go, appending its pid
# to a file if it ran; with "block", the job blocks after saying it started (to be killed there).
RUNNER = """
import os, sys, threading
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from daemon.config import load_config
from daemon.store import cluster, db

config_file, tally, mode = sys.argv[1:4]
db.open_database(load_config(config_file, {}))

def job(period):
    with open(tally, "a") as out:
        out.write(f"{os.getpid()} {period:%Y-%m-%dT%H:%M}\\n")
    if mode == "block":
        threading.Event().wait()

jobs = cluster.ClusterJobs(dead_after=5)
jobs.add(BackgroundScheduler(timezone="UTC"), "tally", CronTrigger.from_crontab("0 6 * * *", timezone="UTC"),
         job, grace_seconds=60)
print("ready", flush=True)
sys.stdin.readline()
print("ran" if jobs.run("tally", sys.argv[4]) else "skipped", flush=True)
"""


def write_config(root: Path, url: str, extra: str = "") -> Path:
    path = root / "patroldesk.toml"
    path.write_text(f"""
[database]
url = "{url}"
[paths]
var = "{root}/var"
[smtp]
enabled = false
[web]
enabled = false
[support]
addresses = ["support@example.com"]
[cluster]
heartbeat_seconds = 1
dead_after_seconds = 5
{extra}
""")
    return path


def python(script: str, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PATROLDESK_CRASH_AT"}
    return subprocess.Popen([sys.executable, "-c", script, *args], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def installed(tmp_path, backend_url):
    config_file = write_config(tmp_path, backend_url)
    db.open_database(load_config(str(config_file), {}))
    db.upgrade()
    yield config_file
    db.database.close()


def tally_job(tally: Path):
    def job(period: dt.datetime) -> None:
        with open(tally, "a") as out:
            out.write(f"{os.getpid()} {period:%Y-%m-%dT%H:%M}\n")
    return job


def test_two_processes_running_the_same_period_run_it_once(installed, tmp_path):
    tally = tmp_path / "tally"
    runners = [python(RUNNER, str(installed), str(tally), "once", PERIOD) for _ in range(2)]
    try:
        assert [runner.stdout.readline() for runner in runners] == ["ready\n", "ready\n"]
        for runner in runners:  # as near the same moment as two schedulers firing
            runner.stdin.write("go\n")
            runner.stdin.flush()
        said = sorted(runner.stdout.readline().strip() for runner in runners)
        errors = [runner.communicate(timeout=30)[1] for runner in runners]
    finally:
        for runner in runners:
            runner.kill()
    assert said == ["ran", "skipped"], errors
    [line] = tally.read_text().splitlines()
    assert line.endswith(" 2026-03-04T06:00")
    run = JobRun.get((JobRun.job == "tally") & (JobRun.period == PERIOD))
    assert run.finished_at is not None and run.attempts == 1 and run.holder.split("/")[1] == line.split()[0]


def test_a_job_whose_runner_was_killed_is_run_by_another_daemons_sweep(installed, tmp_path):
    tally = tmp_path / "tally"
    victim = python(RUNNER, str(installed), str(tally), "block", PERIOD)
    try:
        assert victim.stdout.readline() == "ready\n"
        victim.stdin.write("go\n")
        victim.stdin.flush()
        wait_for(lambda: tally.exists() and tally.read_text().count("\n") == 1, timeout=30)
        here = cluster.ClusterJobs(dead_after=5)
        here.add(BackgroundScheduler(timezone="UTC"), "tally",
                 CronTrigger.from_crontab("0 6 * * *", timezone="UTC"), tally_job(tally), grace_seconds=60)
        assert here.sweep() == 0  # its runner is alive and busy with it: not an orphan
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)  # reaped: a zombie's pid would still answer
    finally:
        victim.kill()
        victim.wait()
    assert here.sweep() == 1
    assert here.sweep() == 0  # done now: not again
    runs = tally.read_text().splitlines()
    assert [line.split()[0] for line in runs] == [str(victim.pid), str(os.getpid())]
    run = JobRun.get((JobRun.job == "tally") & (JobRun.period == PERIOD))
    assert run.attempts == 2 and run.finished_at is not None and run.holder == cluster.process_identity()


def test_the_period_is_the_last_time_the_cron_trigger_fired():
    daily = CronTrigger.from_crontab("0 6 * * *", timezone="UTC")
    at = dt.datetime(2026, 3, 4, 6, 0, tzinfo=dt.timezone.utc)
    assert cluster.last_fire_time(daily, at - dt.timedelta(minutes=1)) == at - dt.timedelta(days=1)
    assert cluster.last_fire_time(daily, at) == at  # the moment it fires belongs to the new period
    assert cluster.last_fire_time(daily, at + dt.timedelta(hours=5)) == at
    quarterly = CronTrigger.from_crontab("*/15 * * * *", timezone="UTC")
    assert cluster.last_fire_time(quarterly, dt.datetime(2026, 3, 4, 10, 44, 59, tzinfo=dt.timezone.utc)) \
        == dt.datetime(2026, 3, 4, 10, 30, tzinfo=dt.timezone.utc)
    weekly = CronTrigger.from_crontab("0 7 * * mon", timezone="UTC")  # the digest's default
    wednesday = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.timezone.utc)
    assert cluster.last_fire_time(weekly, wednesday) is None  # not within the day looked back
    assert cluster.last_fire_time(weekly, wednesday, lookback=dt.timedelta(days=8)) \
        == dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.timezone.utc)


def test_fire_runs_the_period_that_has_begun_once(installed, tmp_path):
    tally = tmp_path / "tally"
    jobs = cluster.ClusterJobs(dead_after=5)
    jobs.add(BackgroundScheduler(timezone="UTC"), "tally", CronTrigger.from_crontab("0 6 * * *", timezone="UTC"),
             tally_job(tally), grace_seconds=60)
    at = dt.datetime(2026, 3, 4, 9, 30, tzinfo=dt.timezone.utc)
    assert jobs.fire("tally", at) is True
    assert jobs.fire("tally", at + dt.timedelta(hours=1)) is False  # the same period: done
    assert jobs.fire("tally", at + dt.timedelta(days=1)) is True
    assert [line.split()[1] for line in tally.read_text().splitlines()] == ["2026-03-04T06:00", "2026-03-05T06:00"]


# Two daemons' services, each with the scheduler role: when the digest falls due, both
# schedulers fire it at the same moment (the job is moved to now, as its cron time would).
DIGEST_SERVICE = """
import datetime as dt, sys
from daemon import logs
from daemon.config import load_config
from daemon.service import build_service

config = load_config(sys.argv[1], {})
logs.configure("INFO")
service = build_service(config, roles=("scheduler",))
service.start()
print("ready", flush=True)
sys.stdin.readline()
service.scheduler.modify_job("patrol-digest", next_run_time=dt.datetime.now(dt.timezone.utc))
sys.stdin.readline()
service.stop()
"""


def test_two_services_scheduling_the_digest_send_one_digest_per_period(tmp_path, backend_url):
    config_file = write_config(tmp_path, backend_url,
                               '[patrol]\ndigest_schedule = "0 6 * * *"\ndigest_to = ["lead@example.com"]')
    config = load_config(str(config_file), {})
    db.open_database(config)
    db.upgrade()
    services = [python(DIGEST_SERVICE, str(config_file)) for _ in range(2)]
    try:
        assert [service.stdout.readline() for service in services] == ["ready\n", "ready\n"]
        for service in services:
            service.stdin.write("go\n")
            service.stdin.flush()
        run = wait_for(lambda: JobRun.get_or_none((JobRun.job == "patrol-digest") & JobRun.finished_at.is_null(False)),
                       timeout=30)
        logs = [service.communicate("stop\n", timeout=30)[1] for service in services]
    finally:
        for service in services:
            service.kill()
        db.database.close()
    db.open_database(config)
    try:
        period = cluster.last_fire_time(CronTrigger.from_crontab("0 6 * * *", timezone="UTC"),
                                        dt.datetime.now(dt.timezone.utc))
        assert run.period == f"{period:%Y-%m-%dT%H:%M:%SZ}" and run.attempts == 1
        assert JobRun.select().count() == 1
        digests = list(Outgoing.select().where(Outgoing.kind == "digest"))
        assert len(digests) == 1 and digests[0].to_address == "lead@example.com"
        assert f".{period:%Y%m%d}0000.en@" in digests[0].message_id  # up to the start of the period's day
        # Only one of them built it: the other did not even get as far as finding it queued.
        assert sum("queued the patrol digest" in log for log in logs) == 1, logs
        assert not any("was queued before" in log for log in logs), logs
    finally:
        db.database.close()
