"""Automatic mail: what may be sent without a person deciding, and what is held back.

Two auto-responders answering each other can fill two mailboxes in minutes;
a helpdesk that acknowledges a mailer-daemon's bounce starts exactly that.
So automatic mail (the acknowledgement of a new ticket, and whatever else
no person writes) passes `held_back` first: never to mail that was itself
automatic, never to a support address, never to an address the configured
pattern names (mailer-daemon, noreply...), at most `per_sender_per_hour`
to one address, and at most `per_ticket` on one ticket in a few minutes.
A mail held back is recorded on its ticket with the reason, so an agent can
see why a customer heard nothing.

The mail's outbox row is written in the transaction of its cause, so it
exists exactly when its ticket does, but its template is rendered later, by
`render_pending`, outside any transaction: a template that takes its whole
render budget must not keep the database's writer waiting (the SMTP edge,
spooling the next mail, among others).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
from collections.abc import Callable
from functools import lru_cache

from peewee import DatabaseError, InterfaceError

from daemon import tickets
from daemon.config import Config
from daemon.errors import NoReplyAddress, NotFound
from daemon.mail.addresses import address_problem
from daemon.outbound.compose import compose
from daemon.outbound.outbox import queue_ticket_mail
from daemon.outbound.replies import TemplateRefused, templated_draft
from daemon.store import cluster, db
from daemon.store.db import database, insert_fast
from daemon.store.models import Customer, Outgoing, Ticket, utcnow

log = logging.getLogger("patroldesk.autoreply")

_SENT_TO = ('SELECT COUNT(*) FROM "outbox" WHERE "to_address" = ? AND "created_at" >= ? '
            'AND "automatic" = ?')
_ON_TICKET = ('SELECT COUNT(*) FROM "outbox" WHERE "ticket_id" = ? AND "created_at" >= ? '
              'AND "automatic" = ?')


def held_back(config: Config, ticket: Ticket, address: str, automatic_cause: str | None = None) -> str | None:
    """Why an automatic mail to `address` on `ticket` must not be sent, or None when it may be."""
    cfg = config.autoreply
    address = address.strip().lower()
    if automatic_cause:
        return f"the mail it would answer is automatic ({automatic_cause})"
    problem = address_problem(address)
    if problem:
        return problem
    if address in config.our_addresses:
        return f"{address} is one of our own support addresses"
    if _never_to(cfg.never_to).search(address):
        return f"{address} matches autoreply.never_to ({cfg.never_to})"
    if not db.is_sqlite():
        # Two workers answering one sender at once must not both see room under the cap
        # (SQLite's writer lock already makes them take turns).
        db.database.execute_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (address,))
    now = utcnow()
    if cfg.per_ticket_minutes and _count(_ON_TICKET, ticket.id, now - dt.timedelta(minutes=cfg.per_ticket_minutes)) \
            >= cfg.per_ticket:
        return (f"ticket #{ticket.number} already had {cfg.per_ticket} automatic mails in the last "
                f"{cfg.per_ticket_minutes} minutes (autoreply.per_ticket)")
    if _count(_SENT_TO, address, now - dt.timedelta(hours=1)) >= cfg.per_sender_per_hour:
        return (f"{address} already had {cfg.per_sender_per_hour} automatic mails in the last hour "
                "(autoreply.per_sender_per_hour)")
    return None


RENDERING = "rendering"  # the outbox state of automatic mail whose template is not rendered yet


def send_automatic(config: Config, ticket: Ticket, template: str, kind: str,
                   automatic_cause: str | None = None):
    """Queue templated automatic mail to the ticket's requester, unless `held_back` says no.

    Returns the outbox row, to be rendered by `render_pending`, or None when
    the mail was held back (the ticket's trail says why).
    """
    address = ticket.requester.email or ""
    reason = held_back(config, ticket, address, automatic_cause)
    if reason is not None:
        _record_held_back(ticket, kind, address, reason)
        return None
    return insert_fast(Outgoing, ticket=ticket.id, kind=kind, mail_from=config.support.addresses[0],
                       recipients=json.dumps([address]), message_id="", subject="", data=b"",
                       state=RENDERING, automatic=True, to_address=address.strip().lower(), template=template)


def render_pending(config: Config, batch: int = 50, elsewhere: Callable | None = None) -> int:
    """Render all automatic mail waiting for its template and queue it to be sent; returns how many
    were queued. Templates render outside any transaction, then each batch is queued in one short
    transaction. A template that does not render, or runs past its budget, holds its mail back:
    the customer's own mail never suffers for it. `elsewhere(render_claimed, ids)`, when given,
    renders in another process (the ingest's helpers), leaving this one the writing."""
    queued = 0
    while True:
        rows = _claim_rendering(batch, config.cluster.dead_after_seconds)
        owners = {t.id: t for t in Ticket.select(Ticket, Customer).join(Customer)
                  .where(Ticket.id.in_({row.ticket_id for row in rows}))} if rows else {}
        made = elsewhere(render_claimed, [row.id for row in rows]) if elsewhere and rows else \
            _render_rows(config, rows, owners)
        with database.atomic():
            queued += sum(_queue_rendered(config, row, owners.get(row.ticket_id), *made[row.id]) for row in rows)
        if len(rows) < batch:
            return queued


def render_claimed(config: Config, ids: list[int]) -> dict[int, tuple]:
    """Render and compose the claimed placeholders `ids`: {id: (made, reason, composed)}. Only reads
    the database, so another process may do it while this one writes."""
    rows = list(Outgoing.select().where(Outgoing.id.in_(ids) & (Outgoing.state == RENDERING)))
    owners = {t.id: t for t in Ticket.select(Ticket, Customer).join(Customer)
              .where(Ticket.id.in_({row.ticket_id for row in rows}))} if rows else {}
    done = _render_rows(config, rows, owners)
    # A row taken away meanwhile (rendered by another process) is left alone by _queue_rendered's claim.
    return {row_id: done.get(row_id, (None, None, None)) for row_id in ids}


def _render_rows(config: Config, rows: list[Outgoing], owners: dict) -> dict[int, tuple]:
    done = {}
    for row in rows:
        made, reason = _render(config, owners.get(row.ticket_id), row)
        composed = None
        if made is not None:
            try:
                composed = compose(config, made[0])
            except Exception:  # noqa: BLE001 - composed again, with its error handled, when it is queued
                composed = None
        done[row.id] = (made, reason, composed)
    return done


RENDER_LEASE_SECONDS = 15  # a render takes milliseconds; a killed renderer's rows are free again after this


def _claim_rendering(batch: int, dead_after: float) -> list[Outgoing]:
    """Lease up to `batch` rows waiting for their template, so that several daemons render
    different mail instead of all rendering the same and throwing all but one away. Rows of a
    renderer known dead are free at once, like any lease of a dead process."""
    now = utcnow()
    token = secrets.token_hex(16)
    holders = [holder for (holder,) in Outgoing.select(Outgoing.claimed_by).where(
        (Outgoing.state == RENDERING) & (Outgoing.lease_until >= now)).distinct().tuples()]
    dead = cluster.dead_among(holders, dead_after)
    # Rows this process leased before are free to it again: a render that a database fault cut short
    # is tried at the next wake, not after the lease.
    free = (Outgoing.state == RENDERING) & (Outgoing.lease_until.is_null() | (Outgoing.lease_until < now)
                                            | Outgoing.claimed_by.in_([*dead, cluster.process_identity()]))
    with database.atomic():
        ids = [row.id for row in Outgoing.select(Outgoing.id).where(free).order_by(Outgoing.id).limit(batch)]
        if not ids:
            return []
        Outgoing.update(claim_token=token, claimed_by=cluster.process_identity(),
                        lease_until=now + dt.timedelta(seconds=RENDER_LEASE_SECONDS)).where(
            Outgoing.id.in_(ids) & free).execute()
    return list(Outgoing.select().where((Outgoing.claim_token == token) & (Outgoing.state == RENDERING))
                .order_by(Outgoing.id))


def _render(config: Config, ticket: Ticket | None, row: Outgoing) -> tuple[tuple | None, str | None]:
    """(the draft and its template revision, None), or (None, why it is held back)."""
    if ticket is None:
        return None, None  # its ticket is gone, and with it whom to write to
    try:
        return templated_draft(config, ticket, row.template, automatic=True), None
    except (TemplateRefused, NotFound) as exc:
        reason = f"the template {row.template!r} cannot be used: {exc}"
        log.error("ticket #%d: %s %s", ticket.number, row.kind, reason)
    except NoReplyAddress as exc:
        reason = str(exc)
    except (DatabaseError, InterfaceError):
        raise  # the row stays as it is and is rendered when the database answers again
    except Exception as exc:  # noqa: BLE001 - the customer's own mail must never suffer for our reply
        reason = f"it could not be written: {type(exc).__name__}: {exc}"
        log.exception("ticket #%d: %s to %s could not be written", ticket.number, row.kind, row.to_address)
    return None, reason


def _queue_rendered(config: Config, row: Outgoing, ticket: Ticket | None, made: tuple | None,
                    reason: str | None, composed=None) -> int:
    """Replace the placeholder with its mail (1), or with the note of why not (0); a savepoint each."""
    if made is not None:
        try:
            with database.atomic():
                if not _claim(row):
                    return 0  # another process rendered it first
                draft, revision = made
                queue_ticket_mail(config, ticket, draft, row.kind, template=row.template, template_revision=revision,
                                  composed=composed)
            return 1
        except NoReplyAddress as exc:  # the address stopped being one: held back, not retried forever
            reason = str(exc)
        except (DatabaseError, InterfaceError):
            raise  # the batch rolls back and is rendered again when the database answers
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop every later acknowledgement
            reason = f"it could not be queued: {type(exc).__name__}: {exc}"
            log.exception("ticket #%d: %s to %s could not be queued", ticket.number, row.kind, row.to_address)
    with database.atomic():
        if _claim(row) and ticket is not None:
            _record_held_back(ticket, row.kind, row.to_address, reason)
    return 0


def _claim(row: Outgoing) -> bool:
    """Take the placeholder row away, for the mail (or the note of why not) that replaces it."""
    # Written by hand: the query builder cost more than the delete (once for each acknowledgement).
    return bool(db.execute('DELETE FROM "outbox" WHERE "id" = ? AND "state" = ?', (row.id, RENDERING)).rowcount)


def _record_held_back(ticket: Ticket, kind: str, address: str, reason: str) -> None:
    tickets.audit(ticket, "automatic mail held back", {"kind": kind, "to": address, "reason": reason})
    log.info("ticket #%d: %s to %s held back: %s", ticket.number, kind, address, reason)


def acknowledges(config: Config, mailbox: str | None) -> bool:
    """Whether mail that opens a ticket from this source is acknowledged (the mailbox's, or [smtp]'s, setting)."""
    if mailbox:
        for box in config.mailbox:
            if box.label == mailbox:
                return box.acknowledge
    return config.smtp.acknowledge


def _count(sql: str, key, since: dt.datetime) -> int:
    return db.execute(sql, (key, Outgoing.created_at.db_value(since), True)).fetchone()[0]


@lru_cache(maxsize=8)
def _never_to(pattern: str) -> re.Pattern:
    return re.compile(pattern)
