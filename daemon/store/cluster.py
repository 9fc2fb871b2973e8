"""Several processes on one database: who is alive, who holds what, which job ran.

A process is named by `process_identity()` (host/pid/start time), as every
claim and lease records it. A daemon registers a `Node` row and beats its
heartbeat (`Membership`); the beat also renews the leases it holds. A holder
is known dead at once on its own host (its pid is gone, or now belongs to a
younger process), and on another host once its heartbeat is older than
dead_after_seconds or it stopped cleanly. Leases (`acquire`) give a thing to
one process at a time; `claim_job` runs a cluster-wide job once per period.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from daemon.store.db import database, execute, insert_if_absent, is_sqlite
from daemon.store.models import JobRun, Lease, Node, utcnow

log = logging.getLogger("patroldesk.cluster")

ROLES = ("ingest", "outbox", "scheduler", "console")
NODES_KEPT_DAYS = 7
JOB_RUNS_KEPT_DAYS = 60  # a period's record must outlive any misfire grace by far

_IDENTITY: str | None = None


def process_identity() -> str:
    """This process, as no other process will ever be: host, pid and the pid's start time."""
    global _IDENTITY
    if _IDENTITY is None or not _IDENTITY.startswith(f"{socket.gethostname()}/{os.getpid()}/"):
        _IDENTITY = f"{socket.gethostname()}/{os.getpid()}/{_start_time(os.getpid())}"  # again after fork
    return _IDENTITY


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[19].decode()  # field 22: starttime
    except (OSError, IndexError):
        return "?"


def database_now() -> dt.datetime:
    """The database's clock (naive UTC): heartbeats and leases written and judged by one clock, so
    that hosts whose clocks drift apart do not take each other for dead."""
    if is_sqlite():
        return utcnow()  # one host: its own clock is the only one
    return execute("SELECT timezone('UTC', clock_timestamp())").fetchone()[0]


def host_of(holder: str) -> str:
    return holder.rsplit("/", 2)[0] if holder.count("/") >= 2 else ""


def running_here(holder: str) -> bool:
    """Whether `holder`, a process of this host, still runs (True for what is not ours to judge)."""
    try:
        _, pid, started = holder.rsplit("/", 2)
        pid = int(pid)
    except ValueError:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return _start_time(pid) == started and not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Killed, and not yet reaped by its parent: it holds its pid but will never run again."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"  # field 3: state
    except (OSError, IndexError):
        return False


def is_dead(holder: str | None, dead_after: float, now: dt.datetime | None = None) -> bool:
    """Whether the process `holder` is known to have stopped. A process of another host that
    never registered (a one-off command) is not known dead: its lease has to run out."""
    if not holder:
        return True
    if host_of(holder) == socket.gethostname():
        return not running_here(holder)
    node = Node.get_or_none(Node.identity == holder)
    if node is None:
        return False
    now = now or database_now()
    return node.stopped_at is not None or (now - node.heartbeat_at).total_seconds() > dead_after


def dead_among(holders, dead_after: float, now: dt.datetime | None = None) -> list[str]:
    return [holder for holder in set(holders) if holder and is_dead(holder, dead_after, now)]


# -- leases ------------------------------------------------------------------

def acquire(name: str, seconds: float, dead_after: float, now: dt.datetime | None = None) -> bool:
    """Hold `name` for `seconds` (renewed by the heartbeat), if it is free, ours, run out, or
    its holder is known dead. Returns whether this process holds it now."""
    now = now or database_now()
    me = process_identity()
    until = now + dt.timedelta(seconds=seconds)
    with database.atomic():
        insert_if_absent(Lease, name=name)
        taken = execute('UPDATE "lease" SET "holder" = ?, "until" = ?, "taken_at" = CASE WHEN "holder" = ? '
                        'THEN "taken_at" ELSE ? END WHERE "name" = ? AND ("holder" IS NULL OR "holder" = ? '
                        'OR "until" < ?)', (me, _stamp(until), me, _stamp(now), name, me, _stamp(now))).rowcount
        if taken:
            return True
        holder = execute('SELECT "holder" FROM "lease" WHERE "name" = ?', (name,)).fetchone()[0]
        if not is_dead(holder, dead_after, now):
            return False
        taken = execute('UPDATE "lease" SET "holder" = ?, "until" = ?, "taken_at" = ?, '
                        '"takeovers" = "takeovers" + 1 WHERE "name" = ? AND "holder" = ?',
                        (me, _stamp(until), _stamp(now), name, holder)).rowcount
    if taken:
        log.warning("took %s over from %s, which is no longer running", name, holder)
    return bool(taken)


def holds(name: str, margin: float = 0.0, now: dt.datetime | None = None) -> bool:
    """Whether this process holds `name` for at least `margin` seconds more."""
    now = now or database_now()
    found = execute('SELECT "holder", "until" FROM "lease" WHERE "name" = ?', (name,)).fetchone()
    if not found or found[0] != process_identity() or found[1] is None:
        return False
    return Lease.until.python_value(found[1]) > now + dt.timedelta(seconds=margin)


def release(name: str) -> None:
    execute('UPDATE "lease" SET "holder" = NULL, "until" = NULL WHERE "name" = ? AND "holder" = ?',
            (name, process_identity()))


def renew_all(seconds: float, now: dt.datetime | None = None) -> int:
    """Extend every lease this process holds that has not run out (the heartbeat's work)."""
    now = now or database_now()
    return execute('UPDATE "lease" SET "until" = ? WHERE "holder" = ? AND "until" >= ?',
                   (_stamp(now + dt.timedelta(seconds=seconds)), process_identity(), _stamp(now))).rowcount


def _stamp(moment: dt.datetime):
    return Lease.until.db_value(moment)


# -- jobs once per period ----------------------------------------------------------

def claim_job(job: str, period: str, dead_after: float, now: dt.datetime | None = None) -> bool:
    """Whether this process should run `job` for `period`: nobody has, or its runner died first."""
    me = process_identity()
    now = now or database_now()
    with database.atomic():
        insert_if_absent(JobRun, job=job, period=period, holder=me, started_at=now)
        row = JobRun.get((JobRun.job == job) & (JobRun.period == period))
        if row.finished_at is not None:
            return False
        if row.holder == me:
            return True
        if not is_dead(row.holder, dead_after, now):
            return False
        taken = JobRun.update(holder=me, started_at=now, attempts=JobRun.attempts + 1).where(
            (JobRun.id == row.id) & (JobRun.holder == row.holder) & JobRun.finished_at.is_null()).execute()
    if taken:
        log.warning("job %s for %s: its runner %s stopped before finishing; running it here", job, period,
                    row.holder)
    return bool(taken)


def finish_job(job: str, period: str) -> None:
    JobRun.update(finished_at=utcnow()).where(
        (JobRun.job == job) & (JobRun.period == period) & (JobRun.holder == process_identity())).execute()


def orphaned_jobs(dead_after: float, now: dt.datetime | None = None) -> list[tuple[str, str]]:
    """(job, period) of unfinished runs whose runner is known dead."""
    rows = list(JobRun.select(JobRun.job, JobRun.period, JobRun.holder).where(JobRun.finished_at.is_null()))
    dead = set(dead_among([r.holder for r in rows], dead_after, now))
    return [(r.job, r.period) for r in rows if r.holder in dead]


# -- membership --------------------------------------------------------------

class Membership:
    """This daemon's row among the nodes, beaten by a thread of its own; the beat renews
    the leases it holds, so a lease lives exactly as long as its holder."""

    def __init__(self, roles: tuple[str, ...], heartbeat_seconds: float, dead_after: float):
        self.roles = roles
        self.heartbeat_seconds = heartbeat_seconds
        self.dead_after = dead_after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self.beats = 0

    def start(self) -> None:
        me, now = process_identity(), database_now()
        with database.atomic():
            insert_if_absent(Node, identity=me, host=socket.gethostname(), pid=os.getpid(),
                             roles=",".join(self.roles), started_at=now, heartbeat_at=now)
            Node.update(roles=",".join(self.roles), heartbeat_at=now, stopped_at=None).where(
                Node.identity == me).execute()
            # Daemons long gone are forgotten; a week leaves plenty to look back on.
            Node.delete().where(Node.heartbeat_at < now - dt.timedelta(days=NODES_KEPT_DAYS)).execute()
            JobRun.delete().where(JobRun.finished_at < now - dt.timedelta(days=JOB_RUNS_KEPT_DAYS)).execute()
        self._thread.start()

    def beat(self) -> None:
        now = database_now()
        with database.atomic():
            Node.update(heartbeat_at=now, roles=",".join(self.roles)).where(
                Node.identity == process_identity()).execute()
            renew_all(self.dead_after, now)
        self.beats += 1

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.heartbeat_seconds):
                try:
                    self.beat()
                except Exception as exc:  # noqa: BLE001 - a database outage must not end the beat
                    log.error("cannot record this daemon's heartbeat: %s", exc)
                    _reconnect()
        finally:
            database.close()

    def stop(self) -> None:
        """A clean stop: say so, and let go of every lease at once (no one waits for it to run out)."""
        self._stop.set()
        self._thread.join(5)
        try:
            with database.atomic():
                Node.update(stopped_at=database_now()).where(Node.identity == process_identity()).execute()
                execute('UPDATE "lease" SET "holder" = NULL, "until" = NULL WHERE "holder" = ?',
                        (process_identity(),))
        except Exception as exc:  # noqa: BLE001 - the leases run out on their own
            log.error("cannot record this daemon's stop: %s", exc)


def _reconnect() -> None:
    try:
        database.close()
    except Exception:  # noqa: BLE001 - a broken connection may fail to close; the next use reconnects
        pass


def nodes(dead_after: float, now: dt.datetime | None = None, keep_seconds: float = 3600) -> list[dict]:
    """The daemons seen in the last `keep_seconds`, newest first, each with whether it is alive and
    what it holds: mailboxes, spooled mail in hand, outbox mail in hand, unfinished jobs."""
    now = now or database_now()
    since = now - dt.timedelta(seconds=keep_seconds)
    found = list(Node.select().where(Node.heartbeat_at >= since).order_by(Node.started_at.desc()))
    leases = {}
    for lease in Lease.select().where(Lease.holder.is_null(False) & (Lease.until >= now)):
        leases.setdefault(lease.holder, []).append(lease.name)
    inbound = dict(execute('SELECT "claimed_by", COUNT(*) FROM "inbound" WHERE "state" = ? GROUP BY "claimed_by"',
                           ("processing",)).fetchall())
    outbox = dict(execute('SELECT "claimed_by", COUNT(*) FROM "outbox" WHERE "state" = ? GROUP BY "claimed_by"',
                          ("sending",)).fetchall())
    jobs = {}
    for run in JobRun.select().where(JobRun.finished_at.is_null()):
        jobs.setdefault(run.holder, []).append(f"{run.job} {run.period}")
    result = []
    for node in found:
        alive = node.stopped_at is None and not is_dead(node.identity, dead_after, now)
        result.append({
            "identity": node.identity, "host": node.host, "pid": node.pid,
            "roles": [r for r in node.roles.split(",") if r], "alive": alive,
            "started_at": _iso(node.started_at), "heartbeat_at": _iso(node.heartbeat_at),
            "heartbeat_age_seconds": round((now - node.heartbeat_at).total_seconds(), 1),
            "stopped_at": _iso(node.stopped_at),
            "mailboxes": sorted(n.partition(":")[2] for n in leases.get(node.identity, []) if n.startswith("mailbox:")),
            "spool_in_hand": inbound.get(node.identity, 0), "outbox_in_hand": outbox.get(node.identity, 0),
            "jobs_in_hand": jobs.get(node.identity, []),
        })
    return result


def unread_mailboxes(labels: list[str], daemons: list[dict]) -> list[dict]:
    """The mailboxes of `labels` that no live daemon of `daemons` (as `nodes` gives them) holds, each
    with its last holder (or None): their mail waits unread until a daemon with the ingest role runs."""
    read = {box for node in daemons if node["alive"] for box in node["mailboxes"]}
    held = {lease.name.partition(":")[2]: lease.holder
            for lease in Lease.select().where(Lease.name.startswith("mailbox:"))}
    return [{"mailbox": label, "last_holder": held.get(label)} for label in labels if label not in read]


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else None


# -- scheduled jobs that run once per period across the cluster -----------------------

MAX_JOB_ATTEMPTS = 3  # runs of one period that failed or died, before it is left alone


class ClusterJobs:
    """Scheduler jobs that run once per period whichever daemons fire them: the first to claim
    the period runs it; one whose runner died or failed is run again by the next `sweep`."""

    def __init__(self, dead_after: float):
        self.dead_after = dead_after
        self.jobs: dict = {}  # name -> (trigger, function of the period's datetime)

    def add(self, scheduler, name: str, trigger, function, grace_seconds: int) -> None:
        self.jobs[name] = (trigger, function)
        scheduler.add_job(self.fire, trigger, args=[name], id=name, max_instances=1, coalesce=True,
                          misfire_grace_time=grace_seconds)

    def fire(self, name: str, now: dt.datetime | None = None) -> bool:
        """The scheduler's call: run `name` for the period that has just begun, unless another did."""
        trigger, _ = self.jobs[name]
        moment = last_fire_time(trigger, now or dt.datetime.now(dt.timezone.utc))
        if moment is None:
            return False
        return self.run(name, moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def run(self, name: str, period: str) -> bool:
        _, function = self.jobs[name]
        try:
            if not claim_job(name, period, self.dead_after):
                return False
            try:
                function(dt.datetime.strptime(period, "%Y-%m-%dT%H:%M:%SZ"))
            except Exception:  # noqa: BLE001 - a failed job must not take the scheduler with it
                log.exception("job %s for %s failed; another attempt follows", name, period)
                JobRun.update(holder="").where((JobRun.job == name) & (JobRun.period == period)
                                               & (JobRun.holder == process_identity())).execute()
                return False
            finish_job(name, period)
            return True
        finally:
            database.close()

    def sweep(self) -> int:
        """Run the periods whose runner died (or failed) before finishing; returns how many ran."""
        try:
            orphans = [(job, period) for job, period in orphaned_jobs(self.dead_after) if job in self.jobs
                       and JobRun.get((JobRun.job == job) & (JobRun.period == period)).attempts < MAX_JOB_ATTEMPTS]
        finally:
            database.close()
        return sum(self.run(job, period) for job, period in orphans)


def last_fire_time(trigger, now: dt.datetime, lookback: dt.timedelta = dt.timedelta(days=1)) -> dt.datetime | None:
    """The latest time at or before `now` that an APScheduler trigger fires (None if none in `lookback`)."""
    latest = None
    moment = trigger.get_next_fire_time(None, now - lookback)
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + dt.timedelta(microseconds=1))
    return latest
