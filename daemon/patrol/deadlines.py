"""The deadline watch: warnings and breaches told once, and policies that depend on time, run on a schedule.

Each run (the cluster job "deadlines", on [sla] check_schedule, once for the whole
cluster) fills the deadlines of active tickets that have none yet, tells the
assignee and the reviewers of every deadline that has reached [sla] warn_percent of
its business time or passed, and runs the policies whose condition reads the clock
over the active tickets. A notice's row (deadline_notice, unique per ticket,
deadline and level) is written in the transaction that queues its mail: two runs,
or two daemons, never send one twice.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from daemon import outbound, tickets
from daemon.config import Config
from daemon.patrol import policies
from daemon.store import db
from daemon.store.db import database
from daemon.store.models import DeadlineNotice, JobRun, Ticket, User, utcnow

log = logging.getLogger("patroldesk.deadlines")

ACTIVE_SQL = '"status" IN (\'new\', \'open\', \'pending\')'
# deadline: (when it warns, when it is due, what meets it)
DEADLINES = {"first_answer": ("respond_warn_at", "respond_by", "first_response_at"),
             "resolution": ("resolve_warn_at", "resolve_by", "resolved_at")}
TEMPLATE = "deadline"
JOB = "deadlines"  # the cluster job's name
KEEP_RUNS = dt.timedelta(days=2)  # of this job's period rows: a run each minute would keep 525,600 a year
BATCH = 500


@dataclass
class Checked:
    filled: int = 0
    warnings: int = 0
    breaches: int = 0
    policy_firings: int = 0


def check(config: Config, now: dt.datetime | None = None) -> Checked:
    """One run of the watch at `now` (default: the present): see the module's docstring."""
    now = now or utcnow()
    done = Checked(filled=fill_missing(config, now))
    moment = Ticket.respond_by.db_value(now)
    for deadline, (warn_column, due_column, met_column) in DEADLINES.items():
        # A breach first: a ticket found already late is told it is late, not that it soon will be.
        for level, column in (("breach", due_column), ("warning", warn_column)):
            late = "" if level == "breach" else f' AND "{due_column}" > ?'
            after = 0
            while True:
                ids = [row[0] for row in db.execute(
                    f'SELECT "id" FROM "ticket" WHERE {ACTIVE_SQL} AND "{met_column}" IS NULL AND "{column}" <= ?'
                    f'{late} AND "id" > ? AND NOT EXISTS (SELECT 1 FROM "deadline_notice" n '
                    f'WHERE n."ticket_id" = "ticket"."id" AND n."deadline" = ?) ORDER BY "id" LIMIT ?'
                    if level == "warning" else
                    f'SELECT "id" FROM "ticket" WHERE {ACTIVE_SQL} AND "{met_column}" IS NULL AND "{column}" <= ?'
                    f' AND "id" > ? AND NOT EXISTS (SELECT 1 FROM "deadline_notice" n WHERE n."ticket_id" = '
                    f'"ticket"."id" AND n."deadline" = ? AND n."level" = \'breach\') ORDER BY "id" LIMIT ?',
                    (moment, *((moment,) if late else ()), after, deadline, BATCH)).fetchall()]
                for ticket_id in ids:
                    try:
                        told = notify(config, ticket_id, deadline, level, now)
                    except Exception:  # noqa: BLE001 - one ticket that cannot be told must not stop the rest
                        log.exception("ticket id %s: the %s deadline's %s could not be told", ticket_id, deadline,
                                      level)
                        continue
                    if told and level == "breach":
                        done.breaches += 1
                    elif told:
                        done.warnings += 1
                if len(ids) < BATCH:
                    break
                after = ids[-1]
    done.policy_firings = run_timed_policies(config)
    return done


def fill_missing(config: Config, now: dt.datetime | None = None) -> int:
    """Deadlines for active tickets that have none: opened before deadlines were kept (the first run after
    the upgrade), or reopened by a customer's reply. What is already past then is recorded as told, with
    no mail: a team upgrading must not get a notice for every old ticket at once."""
    now = now or utcnow()
    filled = 0
    with database.atomic():
        for ticket in Ticket.select(Ticket.id, Ticket.created_at, Ticket.priority, Ticket.group_name,
                                    Ticket.respond_by, Ticket.first_response_at).where(
                Ticket.status.in_(("new", "open", "pending")) & Ticket.resolve_by.is_null()).limit(10 * BATCH):
            due = tickets.hours.deadlines(config, ticket.created_at, ticket.priority, ticket.group_name)
            Ticket.update(respond_by=ticket.respond_by or due.respond_by, respond_warn_at=due.respond_warn_at,
                          resolve_by=due.resolve_by, resolve_warn_at=due.resolve_warn_at).where(
                Ticket.id == ticket.id).execute()
            for deadline, moment, warned, met in (
                    ("first_answer", ticket.respond_by or due.respond_by, due.respond_warn_at,
                     ticket.first_response_at),
                    ("resolution", due.resolve_by, due.resolve_warn_at, None)):
                if met is None and (moment <= now or warned <= now):
                    db.insert_if_absent(DeadlineNotice, ticket=ticket.id, deadline=deadline,
                                        level="breach" if moment <= now else "warning", due_at=moment,
                                        created_at=min(moment, now))
            filled += 1
    return filled


def notify(config: Config, ticket_id: int, deadline: str, level: str, now: dt.datetime | None = None) -> bool:
    """Record the notice and queue its mail in one transaction; False when another run recorded it first,
    or the ticket no longer is where the watch found it (answered, solved, its deadline moved)."""
    now = now or utcnow()
    warn_column, due_column, met_column = DEADLINES[deadline]
    with database.atomic():
        ticket = Ticket.get_by_id(ticket_id)
        due, warn_at = getattr(ticket, due_column), getattr(ticket, warn_column)
        if ticket.status not in ("new", "open", "pending") or getattr(ticket, met_column) is not None or due is None:
            return False
        if (level == "breach" and due > now) or (level == "warning" and not warn_at <= now < due):
            return False
        if not db.insert_if_absent(DeadlineNotice, ticket=ticket.id, deadline=deadline, level=level, due_at=due,
                                   created_at=utcnow()):
            return False
        readers = recipients_by_language(config, ticket)
        sent_to = []
        for language, to in readers.items():
            context = _context(config, ticket, deadline, level, due)
            rendered = outbound.render(config, TEMPLATE, context, wanted=language)
            message = outbound.compose_notice(config, to, rendered.subject, rendered.text)
            message["Auto-Submitted"] = "auto-generated"
            message["Content-Language"] = rendered.language or language
            outbound.queue(config, message, "deadline", ticket=ticket.id)
            sent_to += to
        if not readers:
            log.warning("ticket #%s: the %s deadline's %s has nobody to tell (no assignee or reviewer has an "
                        "e-mail address)", ticket.number, deadline, level)
        tickets.audit(ticket, f"deadline {level}", {"deadline": deadline, "due": due.isoformat() + "Z",
                                                    "told": sent_to})
    return True


def recipients_by_language(config: Config, ticket: Ticket) -> dict[str, list[str]]:
    """The assignee and every active reviewer and admin with an address, by the language they read."""
    people = User.select().where(User.active & (User.email != "") & (
        User.role.in_(("reviewer", "admin")) | (User.id == (ticket.assignee_id or 0))))
    grouped: dict[str, list[str]] = {}
    for user in people:
        grouped.setdefault(user.language or config.web.language, []).append(user.email)
    return grouped


def _context(config: Config, ticket: Ticket, deadline: str, level: str, due: dt.datetime) -> dict:
    hours = tickets.hours.for_team(config, ticket.group_name)
    return {"ticket": {"number": ticket.number, "subject": ticket.subject, "priority": ticket.priority,
                       "group": ticket.group_name, "requester": ticket.requester.email},
            "deadline": deadline, "level": level,
            "due": f"{hours.local(due):%Y-%m-%d %H:%M} ({hours.zone.key})",
            "support": outbound.TemplateSupport(address=config.support.addresses[0], name=config.support.name)}


def run_timed_policies(config: Config) -> int:
    """Run the enabled policies whose condition reads the clock over the active tickets that some of them
    have not acted on yet; how many fired."""
    timed = [row[0] for row in db.execute('SELECT "id", "condition" FROM "policy" WHERE "enabled" = ?',
                                          (True,)).fetchall() if policies.reads_the_clock(row[1])]
    if not timed:
        return 0
    marks = ", ".join("?" * len(timed))
    fired, after = 0, 0
    while True:
        ids = [row[0] for row in db.execute(
            f'SELECT "id" FROM "ticket" WHERE {ACTIVE_SQL} AND "id" > ? AND (SELECT COUNT(*) FROM "policy_firing" f '
            f'WHERE f."ticket_id" = "ticket"."id" AND f."policy_id" IN ({marks})) < ? ORDER BY "id" LIMIT ?',
            (after, *timed, len(timed), BATCH)).fetchall()]
        for ticket_id in ids:
            try:
                with database.atomic():
                    fired += len(policies.run_policies(config, Ticket.get_by_id(ticket_id), only_timed=True))
            except Exception:  # noqa: BLE001 - one ticket a policy fails on must not stop the rest
                log.exception("ticket id %s: the policies that read the clock could not run", ticket_id)
        if len(ids) < BATCH:
            return fired
        after = ids[-1]


def run_scheduled(config: Config, at: dt.datetime | None = None) -> None:
    """The scheduler's job: one check, and the forgetting of this job's periods older than KEEP_RUNS."""
    done = check(config)
    oldest = (utcnow() - KEEP_RUNS).strftime("%Y-%m-%dT%H:%M:%SZ")
    JobRun.delete().where((JobRun.job == JOB) & (JobRun.period < oldest)).execute()
    if done.warnings or done.breaches or done.policy_firings or done.filled:
        log.info("deadlines: %s warnings, %s breaches told; %s policy firings; %s tickets given deadlines",
                 done.warnings, done.breaches, done.policy_firings, done.filled)
