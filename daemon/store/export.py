"""Export: every ticket (its mail, notes and SBO notes) or every article variant, as JSON or CSV.

Rows are read in id-ordered batches (keyset pagination, no OFFSET) and written as they are read,
so memory stays flat however large the store is; the whole export reads one consistent snapshot.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

from daemon.errors import PatroldeskError
from daemon.store.db import database, is_sqlite
from daemon.store.models import (
    Article, ArticleVariant, Attachment, Customer, Message, PatrolReport, Ticket, User,
)

FORMATS = ("json", "csv")
BATCH = 500  # rows per query: a batch of tickets, with their messages, is what is ever held at once

TICKET_COLUMNS = (
    "number", "subject", "status", "priority", "language", "customer_address", "customer_name", "assignee",
    "group", "created_at", "updated_at", "first_response_at", "respond_by", "resolve_by", "resolved_at", "closed_at",
    "tags", "messages", "attachments", "notes", "outcome_kind", "situation", "behaviour", "outcome", "cause",
    "report_hash",
)
ARTICLE_COLUMNS = (
    "article", "language", "state", "article_state", "title", "issue", "environment", "resolution", "cause",
    "keywords", "author", "created_at", "updated_at", "validated_at", "validated_by", "published_at",
    "source_ticket",
)


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise PatroldeskError(f"unknown export format {name!r} (json or csv)")
    return name


def parse_since(text: str | None) -> dt.datetime | None:
    """A day (2026-03-01: from its midnight, UTC) or a moment (2026-03-01T09:30, UTC unless it names an
    offset or Z), as the store's naive UTC."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise PatroldeskError(f"not a date or a date and time: {text!r} "
                              f"(for example 2026-03-01, 2026-03-01T09:30 or 2026-03-01T09:30+01:00)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def export_tickets(out: TextIO, fmt: str, since: dt.datetime | None = None, batch: int = BATCH) -> int:
    """Write every ticket updated at or after `since` (all without it) to `out`; returns how many."""
    return _export(out, fmt, lambda: ticket_records(since, batch), TICKET_COLUMNS, ticket_row)


def export_articles(out: TextIO, fmt: str, since: dt.datetime | None = None, batch: int = BATCH) -> int:
    """Write every article variant updated at or after `since` (all without it) to `out`; returns how many."""
    return _export(out, fmt, lambda: article_records(since, batch), ARTICLE_COLUMNS, article_row)


def _export(out: TextIO, fmt: str, records: Callable[[], Iterator[dict]], columns: tuple, row) -> int:
    """The records, read inside one snapshot, written as JSON or as CSV rows of `columns`."""
    check_format(fmt)
    with _snapshot():
        if fmt == "json":
            return write_json(out, records())
        return write_csv(out, columns, (row(record) for record in records()))


@contextlib.contextmanager
def _snapshot():
    """One consistent view of the store for the whole export, holding back no writer."""
    if database.in_transaction():  # the caller's transaction is the view
        yield
    elif is_sqlite():
        # A deferred read transaction (a WAL snapshot); atomic() would take the write lock at BEGIN.
        database.execute_sql("BEGIN DEFERRED")
        try:
            yield
        finally:
            database.execute_sql("COMMIT")
    else:
        with database.atomic():
            database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield


def _in_batches(page: Callable[[int], object], batch: int) -> Iterator[list]:
    """Rows by ascending id, `batch` at a time: each query starts after the last id the one before read."""
    after = 0
    while True:
        rows = list(page(after).limit(batch))
        if rows:
            yield rows
        if len(rows) < batch:
            return
        after = rows[-1].id


# Tickets ------------------------------------------------------------------------------------------

def ticket_records(since: dt.datetime | None = None, batch: int = BATCH) -> Iterator[dict]:
    """Each ticket as one dict, by id, read `batch` tickets (and their messages) at a time."""
    users = _usernames()

    def page(after: int):
        query = (Ticket.select(Ticket, Customer).join(Customer, on=(Ticket.requester == Customer.id))
                 .where(Ticket.id > after).order_by(Ticket.id))
        return query.where(Ticket.updated_at >= since) if since is not None else query

    for tickets in _in_batches(page, batch):
        ids = [ticket.id for ticket in tickets]
        messages = _messages_of(ids)
        attachments = _attachments_of(ids)
        reports = _reports_of(ids)
        for ticket in tickets:
            yield _ticket_dict(ticket, messages.get(ticket.id, []), attachments, reports.get(ticket.id, []), users)


def _usernames() -> dict[int, str]:
    return dict(User.select(User.id, User.username).tuples())


def _messages_of(ticket_ids: list[int]) -> dict[int, list[Message]]:
    found: dict[int, list[Message]] = {}
    fields = [Message.id, Message.ticket, Message.kind, Message.message_id, Message.in_reply_to,
              Message.sender_address, Message.sender_name, Message.to_addrs, Message.cc_addrs, Message.subject,
              Message.sent_at, Message.created_at, Message.body_text, Message.body_visible, Message.automatic,
              Message.language, Message.author]
    for message in (Message.select(*fields).where(Message.ticket.in_(ticket_ids))
                    .order_by(Message.ticket, Message.id)):
        found.setdefault(message.ticket_id, []).append(message)
    return found


def _attachments_of(ticket_ids: list[int]) -> dict[int, list[Attachment]]:
    found: dict[int, list[Attachment]] = {}
    for attachment in (Attachment.select(Attachment).join(Message, on=(Attachment.message == Message.id))
                       .where(Message.ticket.in_(ticket_ids)).order_by(Attachment.id)):
        found.setdefault(attachment.message_id, []).append(attachment)
    return found


def _reports_of(ticket_ids: list[int]) -> dict[int, list[PatrolReport]]:
    found: dict[int, list[PatrolReport]] = {}
    for report in PatrolReport.select().where(PatrolReport.ticket.in_(ticket_ids)).order_by(PatrolReport.seq):
        found.setdefault(report.ticket_id, []).append(report)
    return found


def _ticket_dict(ticket: Ticket, messages: list[Message], attachments: dict[int, list[Attachment]],
                 reports: list[PatrolReport], users: dict[int, str]) -> dict:
    closing, current = _closing_note(ticket, reports)
    customer = ticket.requester
    return {
        "number": ticket.number, "subject": ticket.subject, "status": ticket.status, "priority": ticket.priority,
        "language": customer.language or None,
        "customer": {"address": customer.email, "name": customer.name},
        "assignee": users.get(ticket.assignee_id), "group": ticket.group_name or None,
        "escalated": ticket.escalated, "support_address": ticket.support_address,
        "created_at": _iso(ticket.created_at), "updated_at": _iso(ticket.updated_at),
        "first_response_at": _iso(ticket.first_response_at), "respond_by": _iso(ticket.respond_by),
        "resolve_by": _iso(ticket.resolve_by), "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(closing.created_at) if closing else None,
        "tags": _json_list(current.tags) if current else [],
        "messages": [_message_dict(m, attachments.get(m.id, []), users) for m in messages if m.kind != "note"],
        "notes": [{"at": _iso(m.created_at), "author": users.get(m.author_id), "text": m.body_text}
                  for m in messages if m.kind == "note"],
        "sbo": _report_dict(current, users) if current else None,
        "reports": [_report_dict(report, users) for report in reports],
    }


def _closing_note(ticket: Ticket, reports: list[PatrolReport]) -> tuple[PatrolReport | None, PatrolReport | None]:
    """For a solved or closed ticket: the report that closed it last, and that report as corrected since."""
    if ticket.status not in ("solved", "closed"):
        return None, None
    closings = [r for r in reports if r.kind == "closing" and r.corrects_id is None]
    if not closings:
        return None, None
    correction_of = {r.corrects_id: r for r in reports if r.corrects_id is not None}
    current = closings[-1]
    while current.id in correction_of:
        current = correction_of[current.id]
    return closings[-1], current


def _message_dict(message: Message, attachments: list[Attachment], users: dict[int, str]) -> dict:
    return {
        "direction": message.kind, "message_id": message.message_id, "in_reply_to": message.in_reply_to or None,
        "from": {"address": message.sender_address, "name": message.sender_name},
        "to": _addresses(message.to_addrs), "cc": _addresses(message.cc_addrs),
        "date": _iso(message.sent_at), "received_at": _iso(message.created_at), "subject": message.subject,
        "visible_text": message.body_visible, "text": message.body_text,
        "automatic": message.automatic, "language": message.language or None,
        "author": users.get(message.author_id),
        "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "sha256": a.sha256, "stored": a.stored, "inline": a.inline} for a in attachments],
    }


def _report_dict(report: PatrolReport, users: dict[int, str]) -> dict:
    return {
        "report": report.id, "seq": report.seq, "kind": report.kind, "corrects": report.corrects_id,
        "situation": report.situation, "behaviour": report.behaviour, "outcome": report.outcome,
        "outcome_kind": report.outcome_kind, "cause": report.cause, "tags": _json_list(report.tags),
        "customer_hears": report.customer_hears, "author": users.get(report.author_id),
        "written_at": _iso(report.created_at), "hash": report.hash, "prev_hash": report.prev_hash,
    }


def ticket_row(record: dict) -> list:
    """A ticket record flattened to TICKET_COLUMNS."""
    sbo = record["sbo"] or {}
    return [
        record["number"], record["subject"], record["status"], record["priority"], record["language"],
        record["customer"]["address"], record["customer"]["name"], record["assignee"], record["group"],
        record["created_at"], record["updated_at"], record["first_response_at"], record["respond_by"],
        record["resolve_by"], record["resolved_at"], record["closed_at"], ", ".join(record["tags"]),
        len(record["messages"]),
        sum(len(m["attachments"]) for m in record["messages"]), len(record["notes"]),
        sbo.get("outcome_kind"), sbo.get("situation"), sbo.get("behaviour"), sbo.get("outcome"), sbo.get("cause"),
        sbo.get("hash"),
    ]


# Articles -----------------------------------------------------------------------------------------

def article_records(since: dt.datetime | None = None, batch: int = BATCH) -> Iterator[dict]:
    """Each article variant as one dict, by id, `batch` at a time."""
    users = _usernames()

    def page(after: int):
        query = (ArticleVariant.select(ArticleVariant, Article)
                 .join(Article, on=(ArticleVariant.article == Article.id))
                 .where(ArticleVariant.id > after).order_by(ArticleVariant.id))
        return query.where(ArticleVariant.updated_at >= since) if since is not None else query

    for variants in _in_batches(page, batch):
        sources = {v.article.source_ticket_id for v in variants} - {None}
        numbers = dict(Ticket.select(Ticket.id, Ticket.number).where(Ticket.id.in_(sources)).tuples()) \
            if sources else {}
        for variant in variants:
            yield _variant_dict(variant, numbers, users)


def _variant_dict(variant: ArticleVariant, numbers: dict[int, int], users: dict[int, str]) -> dict:
    article = variant.article
    return {
        "article": article.id, "language": variant.language, "state": variant.state, "article_state": article.state,
        "title": variant.title, "issue": variant.issue, "environment": variant.environment,
        "resolution": variant.resolution, "cause": variant.cause, "keywords": _json_list(variant.keywords),
        "author": users.get(variant.created_by_id or article.created_by_id),
        "created_at": _iso(variant.created_at), "updated_at": _iso(variant.updated_at),
        "validated_at": _iso(variant.validated_at), "validated_by": users.get(variant.validated_by_id),
        "published_at": _iso(variant.published_at), "source_ticket": numbers.get(article.source_ticket_id),
    }


def article_row(record: dict) -> list:
    """An article variant record flattened to ARTICLE_COLUMNS."""
    return [", ".join(record[key]) if key == "keywords" else record[key] for key in ARTICLE_COLUMNS]


# Writing ------------------------------------------------------------------------------------------

def write_json(out: TextIO, records: Iterable[dict]) -> int:
    """A JSON array with one record per line: "[", then each record (a comma ends all but the last), "]"."""
    count = 0
    out.write("[")
    for record in records:
        out.write(",\n" if count else "\n")
        out.write(_one_line(record))
        count += 1
    out.write("\n]\n")
    return count


def _one_line(record: dict) -> str:
    text = json.dumps(record, ensure_ascii=False)
    # Valid JSON raw, but line breaks to str.splitlines() and some editors: escaped, one record stays one line.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


def write_csv(out: TextIO, columns: Iterable[str], rows: Iterable[list]) -> int:
    """A header row, then the rows: RFC 4180 (CRLF, quoted where needed, quotes doubled); None is empty."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat() + "Z"


def _addresses(text: str) -> list[dict]:
    """A stored JSON list of [name, address] pairs as {"name", "address"}."""
    try:
        pairs = json.loads(text) if text else []
    except ValueError:
        return []
    return [{"name": pair[0], "address": pair[1]} for pair in pairs if isinstance(pair, list) and len(pair) == 2]


def _json_list(text: str) -> list:
    try:
        found = json.loads(text or "[]")
    except ValueError:
        return []
    return found if isinstance(found, list) else []
