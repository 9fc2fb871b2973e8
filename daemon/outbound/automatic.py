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
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from functools import lru_cache

from peewee import DatabaseError, InterfaceError

from daemon import tickets
from daemon.config import Config
from daemon.errors import NoReplyAddress, NotFound
from daemon.mail.addresses import address_problem
from daemon.outbound.replies import TemplateRefused, send_templated
from daemon.store import db
from daemon.store.models import Outgoing, Ticket, utcnow

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


def send_automatic(config: Config, ticket: Ticket, template: str, kind: str,
                   automatic_cause: str | None = None):
    """Queue templated automatic mail to the ticket's requester, unless `held_back` says no.

    Returns the queued outbox row, or None when the mail was held back (the
    ticket's trail says why). A template that does not render holds the mail
    back too: the customer's own mail must never suffer for it.
    """
    address = ticket.requester.email or ""
    reason = held_back(config, ticket, address, automatic_cause)
    if reason is None:
        try:
            return send_templated(config, ticket, template, kind, automatic=True)
        except (TemplateRefused, NotFound, NoReplyAddress) as exc:
            reason = f"the template {template!r} cannot be used: {exc}"
            log.error("ticket #%d: %s %s", ticket.number, kind, reason)
        except (DatabaseError, InterfaceError):
            raise  # the database's trouble is the pipeline's to handle (it hands the mail back)
        except Exception as exc:  # noqa: BLE001 - the customer's own mail must never suffer for our reply
            reason = f"it could not be written: {type(exc).__name__}: {exc}"
            log.exception("ticket #%d: %s to %s could not be written", ticket.number, kind, address)
    tickets.audit(ticket, "automatic mail held back", {"kind": kind, "to": address, "reason": reason})
    log.info("ticket #%d: %s to %s held back: %s", ticket.number, kind, address, reason)
    return None


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
