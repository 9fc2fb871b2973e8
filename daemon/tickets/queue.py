"""The agents' queue: tickets filtered, searched, sorted and paged, in one deliberate query.

The indexes it leans on: migration 0012's partial index of the active tickets
waiting for us first (the default view); migration 0023's in resolution-deadline order;
migration 0011's in SLA order and in age order,
(assignee, status), (priority, status) and (escalated, status) for the filters. A page is read with one row more than
it shows, to know whether another follows, and never counted in full.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from daemon.languages import N_
from daemon.store import db
from daemon.store.models import STATUSES, Ticket  # noqa: F401 (the queue page lists STATUSES)
from daemon.tickets import search as ticket_search
from daemon.tickets.lifecycle import PRIORITIES

ACTIVE = ("new", "open", "pending")
# Literal, as in migration 0011's partial indexes: with bound parameters no planner could use them.
ACTIVE_SQL = 't."status" IN (\'new\', \'open\', \'pending\')'
SORTS = {
    # name: (ORDER BY, what people read it as)
    "waiting": ('t."last_speaker" <> \'customer\', t."waiting_since", t."id"', N_("waiting for us first")),
    "sla": ('t."first_response_at" IS NOT NULL, t."respond_by", t."id"', N_("first answer due soonest")),
    "resolution": ('t."resolve_by" IS NULL, t."resolve_by", t."id"',
                   N_("solving due soonest")),
    "oldest": ('t."id"', N_("oldest first")),
    "newest": ('t."id" DESC', N_("newest first")),
    "updated": ('t."updated_at" DESC, t."id" DESC', N_("recently updated")),
}


@dataclass(frozen=True)
class Filters:
    status: str = "active"  # active (new, open, pending), all, or one status
    assignee: str = ""  # '' anyone, 'me', 'none', or a username
    priority: str = ""
    escalated: bool = False
    text: str = ""
    sort: str = "waiting"


@dataclass(frozen=True)
class Row:
    number: int
    subject: str
    status: str
    priority: str
    escalated: bool
    requester: str
    requester_email: str
    assignee: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    respond_by: dt.datetime | None
    first_response_at: dt.datetime | None
    last_speaker: str  # customer, us
    waiting_since: dt.datetime | None
    last_inbound_at: dt.datetime | None
    seen_at: dt.datetime | None
    respond_warn_at: dt.datetime | None = None
    resolve_by: dt.datetime | None = None
    resolve_warn_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None

    def sla(self, now: dt.datetime) -> str:
        return sla_state(self.status, self.respond_by, self.first_response_at, now, self.respond_warn_at)

    def resolution(self, now: dt.datetime) -> str:
        return resolution_state(self.status, self.resolve_by, self.resolved_at, now, self.resolve_warn_at)

    @property
    def waiting_for_us(self) -> bool:
        return self.last_speaker == "customer"

    @property
    def unread(self) -> bool:
        return is_unread(self.last_inbound_at, self.seen_at)


def is_unread(last_inbound_at, seen_at) -> bool:
    """Customer mail came in that no agent has seen on the ticket page yet."""
    return last_inbound_at is not None and (seen_at is None or seen_at < last_inbound_at)


def mark_seen(ticket, at: dt.datetime) -> None:
    """An agent opened the ticket page at `at`, shown every mail before it; written only when
    that clears unread mail, so opening a ticket costs no write most of the time."""
    if is_unread(ticket.last_inbound_at, ticket.seen_at):
        Ticket.update(seen_at=at).where(Ticket.id == ticket.id).execute()
        ticket.seen_at = at


def sla_state(status: str, respond_by, first_response_at, now: dt.datetime, warn_at=None) -> str:
    """Where a ticket stands against its first-answer deadline: 'answered' once a person replied in time,
    'answered late' after it; overdue, soon (past the warning, else within the hour) or ok while it is
    open work; '' for a ticket done without one."""
    if first_response_at is not None:
        return "answered late" if respond_by is not None and first_response_at > respond_by else "answered"
    return _open_state(status, respond_by, now, warn_at)


def resolution_state(status: str, resolve_by, resolved_at, now: dt.datetime, warn_at=None) -> str:
    """Where a ticket stands against its resolution deadline: 'solved' in time or 'solved late';
    overdue, soon or ok while it is open work; '' when it has none."""
    if resolved_at is not None and status not in ACTIVE:
        return "solved late" if resolve_by is not None and resolved_at > resolve_by else "solved"
    return _open_state(status, resolve_by, now, warn_at)


def _open_state(status: str, due, now: dt.datetime, warn_at) -> str:
    if due is None or status not in ACTIVE:
        return ""
    if due < now:
        return "overdue"
    soon = now >= warn_at if warn_at is not None else due - now < dt.timedelta(hours=1)
    return "soon" if soon else "ok"


def problems(filters: Filters) -> dict[str, str]:
    """What is wrong with filters typed into the address bar, field by field."""
    found = {}
    if filters.status not in ("active", "all", *STATUSES):
        found["status"] = N_("one of %(kinds)s", kinds=", ".join(("active", "all", *STATUSES)))
    if filters.sort not in SORTS:
        found["sort"] = N_("one of %(kinds)s", kinds=", ".join(SORTS))
    if filters.priority and filters.priority not in PRIORITIES:
        found["priority"] = N_("one of %(kinds)s", kinds=", ".join(PRIORITIES))
    return found


def page(filters: Filters, number: int, size: int, me_id: int | None = None) -> tuple[list[Row], bool]:
    """The tickets of page `number` (from 1) and whether more follow.

    Two steps: the page's ticket rows from the ticket table alone (filtered,
    sorted, cut), then their customers' and assignees' names for those rows
    only. Joined in one query, SQLite's planner may walk the customers first
    and sort every active ticket (measured: 190 ms against 25 ms at 100,000).
    """
    where, params = _conditions(filters, me_id)
    if where is None:
        return [], False
    sql = ('SELECT t."number", t."subject", t."status", t."priority", t."escalated", t."requester_id", '
           't."assignee_id", t."created_at", t."updated_at", t."respond_by", t."first_response_at", '
           't."last_speaker", t."waiting_since", t."last_inbound_at", t."seen_at", t."respond_warn_at", '
           't."resolve_by", t."resolve_warn_at", t."resolved_at" FROM "ticket" t'
           + (" WHERE " + " AND ".join(where) if where else "")
           + f' ORDER BY {SORTS[filters.sort][0]} LIMIT ? OFFSET ?')
    rows = db.execute(sql, (*params, size + 1, (max(number, 1) - 1) * size)).fetchall()[:size + 1]
    customers = _names('SELECT "id", "name", "email" FROM "customer" WHERE "id" IN ', {row[5] for row in rows[:size]})
    people = _names('SELECT "id", "username", "username" FROM "user" WHERE "id" IN ',
                    {row[6] for row in rows[:size] if row[6] is not None})
    return [_row(row, customers, people) for row in rows[:size]], len(rows) > size


def _names(sql: str, ids: set) -> dict:
    if not ids:
        return {}
    return {row[0]: row[1:] for row in db.execute(sql + f'({", ".join("?" * len(ids))})', tuple(ids)).fetchall()}


def _conditions(filters: Filters, me_id: int | None) -> tuple[list[str] | None, list]:
    where, params = [], []
    if filters.status == "active":
        where.append(ACTIVE_SQL)
    elif filters.status != "all":
        where.append('t."status" = ?')
        params.append(filters.status)
    if filters.assignee == "none":
        where.append('t."assignee_id" IS NULL')
    elif filters.assignee == "me":
        where.append('t."assignee_id" = ?')
        params.append(me_id)
    elif filters.assignee:
        where.append('t."assignee_id" = (SELECT "id" FROM "user" WHERE "username" = ?)')
        params.append(filters.assignee)
    if filters.priority:
        where.append('t."priority" = ?')
        params.append(filters.priority)
    if filters.escalated:
        where.append('t."escalated" = ?')
        params.append(True)
    if filters.text.strip():
        ids = ticket_search.ticket_ids(filters.text)
        if not ids:
            return None, []
        where.append(f't."id" IN ({", ".join("?" * len(ids))})')
        params += ids
    return where, params


def _row(row, customers: dict, people: dict) -> Row:
    name, email = customers.get(row[5], ("", ""))
    return Row(number=row[0], subject=row[1], status=row[2], priority=row[3], escalated=bool(row[4]),
               requester=name, requester_email=email, assignee=people.get(row[6], (None,))[0],
               created_at=_moment(row[7]), updated_at=_moment(row[8]), respond_by=_moment(row[9]),
               first_response_at=_moment(row[10]), last_speaker=row[11], waiting_since=_moment(row[12]),
               last_inbound_at=_moment(row[13]), seen_at=_moment(row[14]), respond_warn_at=_moment(row[15]),
               resolve_by=_moment(row[16]), resolve_warn_at=_moment(row[17]), resolved_at=_moment(row[18]))


def _moment(value):
    """SQLite hands back text; PostgreSQL a datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)
