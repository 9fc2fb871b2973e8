"""Ticket lifecycle: customers, opening, appending mail, reading tickets back.

Every front door (pipeline, CLI, console) changes tickets through these
functions; the rules live here.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from functools import lru_cache

from peewee import JOIN

from daemon.config import Config
from daemon.errors import NotFound, PatroldeskError
from daemon.languages import N_
from daemon.mail.addresses import address_problem
from daemon.mail.parse import Address, ParsedMail
from daemon.store.db import execute, insert_fast, insert_if_absent
from daemon.store.models import (
    Article, ArticleLink, ArticleSuggestion, Attachment, AuditEvent, Customer, Message, Outgoing, Participant, RawMail,
    Ticket, User, utcnow,
)
from daemon.tickets.hours import deadlines

# A customer's reply brings these back to work.
_REOPENED_BY_REPLY = ("pending", "solved", "closed")


# The one requester of every mail that named no sender: an empty address (Customer.email is
# unique, so there is exactly one), named so the queue shows it for what it is.
NO_ADDRESS_NAME = "(no sender address)"


def customer_for(address: Address | None) -> Customer:
    """The customer with this address, created on first contact; None: the customer with no address."""
    if address is None:
        return _no_address_customer()
    found = execute('SELECT "id", "name" FROM "customer" WHERE "email" = ?', (address.key,)).fetchone()
    if found is None:
        return insert_fast(Customer, email=address.key, name=address.name[:200])
    customer = Customer(id=found[0], email=address.key, name=found[1])
    if address.name and not customer.name:
        customer.name = address.name[:200]
        Customer.update(name=customer.name).where(Customer.id == customer.id).execute()
    return customer


def _no_address_customer() -> Customer:
    found = execute('SELECT "id", "name" FROM "customer" WHERE "email" = ?', ("",)).fetchone()
    if found is None:
        return insert_fast(Customer, email="", name=NO_ADDRESS_NAME)
    return Customer(id=found[0], email="", name=found[1])


def reply_refusal(ticket: Ticket) -> str | None:
    """Why no mail can be sent to the ticket's requester ("no reply address: ..."), or None when it can.

    A ticket is "no reply address" when the mail that opened it named no sender
    (its requester has an empty address) or named one that is not a mail address.
    """
    email = ticket.requester.email or ""
    if not email:
        return N_("no reply address: the mail that opened it named no sender (no From, Reply-To, Sender, "
                  "Return-Path or envelope sender)")
    problem = address_problem(email)
    return N_("no reply address: %(problem)s", problem=problem) if problem else None


def open_ticket(requester: Customer, subject: str, support_address: str,
                first_number: int, claimed_ref: int | None = None, config: Config | None = None) -> Ticket:
    """A new ticket; its public number follows from its row id. With `config`, its deadlines
    follow from [sla] for a normal priority, counted in the business hours of [hours]."""
    now = utcnow()
    due = deadlines(config, now, "normal") if config is not None else None
    # Opened by the customer's mail: the customer spoke, and it is our turn from now.
    ticket = insert_fast(Ticket, requester=requester, subject=subject[:2000], created_at=now, updated_at=now,
                         support_address=support_address, claimed_ref=claimed_ref,
                         respond_by=due and due.respond_by, respond_warn_at=due and due.respond_warn_at,
                         resolve_by=due and due.resolve_by, resolve_warn_at=due and due.resolve_warn_at,
                         last_speaker="customer", waiting_since=now, last_inbound_at=now)
    ticket.number = first_number - 1 + ticket.id
    execute('UPDATE "ticket" SET "number" = ? WHERE "id" = ?', (ticket.number, ticket.id))
    detail = {"requester": requester.email}
    if claimed_ref is not None:
        detail["claimed_ref"] = claimed_ref
    audit(ticket, "opened", detail)
    return ticket


def respond_by(config: Config, opened: dt.datetime, priority: str, group: str = "") -> dt.datetime:
    """When a person's first answer is due ([sla], by priority, in the business hours of the group's team)."""
    return deadlines(config, opened, priority, group).respond_by


PRIORITIES = ("low", "normal", "high", "urgent")


def set_priority(config: Config, ticket: Ticket, priority: str, actor=None) -> None:
    """A new priority, and the deadlines that follow from it."""
    if priority not in PRIORITIES:
        raise PatroldeskError(N_("the priority is one of %(kinds)s, not %(given)r", kinds=", ".join(PRIORITIES),
                                 given=priority))
    _move_deadlines(config, ticket, priority=priority)
    if actor is not None:
        audit(ticket, "priority", {"priority": priority}, actor=actor)


def set_group(config: Config, ticket: Ticket, group: str) -> None:
    """Assign the ticket to a group; its deadlines move to that group's team's hours."""
    _move_deadlines(config, ticket, group_name=group)


def _move_deadlines(config: Config, ticket: Ticket, **changes) -> None:
    """Write the new priority or group with the deadlines that follow. What was told of a deadline not met
    yet that moved is forgotten, so the new one is warned of and breached in its turn."""
    current = Ticket.get_by_id(ticket.id)
    due = deadlines(config, current.created_at, changes.get("priority", current.priority),
                    changes.get("group_name", current.group_name))
    Ticket.update(respond_by=due.respond_by, respond_warn_at=due.respond_warn_at, resolve_by=due.resolve_by,
                  resolve_warn_at=due.resolve_warn_at, **changes).where(Ticket.id == ticket.id).execute()
    moved = (("first_answer", current.respond_by, due.respond_by, current.first_response_at),
             ("resolution", current.resolve_by, due.resolve_by, current.resolved_at))
    for deadline, before, after, met in moved:
        if before != after and met is None:
            execute('DELETE FROM "deadline_notice" WHERE "ticket_id" = ? AND "deadline" = ?', (ticket.id, deadline))


def add_note(ticket: Ticket, author: User, text: str) -> Message:
    """An internal note: on the ticket's thread for the team, never mailed to anyone."""
    text = text.strip()
    if not text:
        raise PatroldeskError(N_("a note needs some text"))
    name = author.name or author.username
    message = Message.create(ticket=ticket.id, kind="note", sender_address=author.email, sender_name=name,
                             body_text=text, body_visible=text, author=author.id)
    Ticket.update(updated_at=utcnow()).where(Ticket.id == ticket.id).execute()
    audit(ticket, "note", {"message": message.id}, actor=author)
    return message


def assign(ticket: Ticket, assignee: User | None, actor: User) -> None:
    """Give the ticket to an agent (None: to nobody); only active people take tickets."""
    if assignee is not None and not assignee.active:
        raise PatroldeskError(N_("%(user)s is deactivated and takes no tickets", user=assignee.username))
    Ticket.update(assignee=assignee.id if assignee else None, updated_at=utcnow()).where(
        Ticket.id == ticket.id).execute()
    audit(ticket, "assigned", {"to": assignee.username if assignee else None}, actor=actor)


def record_inbound(ticket: Ticket, mail: ParsedMail, sender: Address | None, raw: RawMail | None,
                   signal: str | None, automatic: str | None, language: tuple[str, float] | None = None,
                   config: Config | None = None) -> Message:
    """Store a received mail as a message of the ticket and note who took part; `language`, when
    already told, is stored with it: (code, confidence). A reply that reopens a solved ticket gives it a
    new resolution deadline from `config`."""
    told = {"language": language[0], "language_confidence": language[1]} if language else {}
    message = insert_fast(
        Message,
        ticket=ticket, kind="inbound", message_id=mail.message_id,
        in_reply_to=" ".join(mail.in_reply_to), refs=" ".join(mail.references),
        sender_address=sender.key if sender else "", sender_name=sender.name[:200] if sender else "",
        to_addrs=_addresses_json(mail.to), cc_addrs=_addresses_json(mail.cc),
        subject=mail.subject, sent_at=_naive_utc(mail.date), body_text=mail.text,
        body_visible=mail.visible_text, body_html=mail.html, automatic=automatic[:200] if automatic else None,
        thread_signal=signal, notes="\n".join(mail.notes), raw=raw, **told)
    add_participants(ticket, [a.key for a in (sender, *mail.to, *mail.cc) if a])
    if signal is not None:  # a new ticket is as fresh as it gets
        _touch(ticket, customer_replied=not message.automatic, config=config)
    return message


def _restart_resolution(config: Config | None, ticket: Ticket) -> None:
    """A solved ticket the customer reopened: solving it is due again, from now (without a config, the
    deadline watch works it out from the opening), and what was told of the old deadline is forgotten."""
    priority, group = execute('SELECT "priority", "group_name" FROM "ticket" WHERE "id" = ?',
                              (ticket.id,)).fetchone()
    due = deadlines(config, utcnow(), priority, group) if config is not None else None
    execute('UPDATE "ticket" SET "resolved_at" = NULL, "resolve_by" = ?, "resolve_warn_at" = ? WHERE "id" = ?',
            (Ticket.resolve_by.db_value(due and due.resolve_by),
             Ticket.resolve_by.db_value(due and due.resolve_warn_at), ticket.id))
    execute('DELETE FROM "deadline_notice" WHERE "ticket_id" = ? AND "deadline" = ?', (ticket.id, "resolution"))


def _touch(ticket: Ticket, customer_replied: bool, config: Config | None = None) -> None:
    ticket.updated_at = utcnow()
    now = Ticket.updated_at.db_value(ticket.updated_at)
    if not customer_replied:  # automatic mail is nobody's turn
        execute('UPDATE "ticket" SET "updated_at" = ? WHERE "id" = ?', (now, ticket.id))
        return
    if ticket.status in _REOPENED_BY_REPLY:
        audit(ticket, "reopened", {"from": ticket.status, "by": "customer reply"})
        if ticket.status != "pending":  # no longer solved: a new resolution deadline, counted from now
            _restart_resolution(config, ticket)
        ticket.status = "open"
    execute('UPDATE "ticket" SET "updated_at" = ?, "status" = ?, "last_inbound_at" = ?, ' + _TURN_SQL,
            (now, ticket.status, now, "customer", now, "customer", ticket.id))


# Who spoke, and since when their turn began: kept when the same side speaks again.
_TURN_SQL = ('"waiting_since" = CASE WHEN "last_speaker" = ? THEN "waiting_since" ELSE ? END, "last_speaker" = ? '
             'WHERE "id" = ?')


def record_outbound(ticket: Ticket, at: dt.datetime) -> None:
    """We wrote to the customer (not automatically): the ticket now waits for them."""
    execute('UPDATE "ticket" SET ' + _TURN_SQL, ("us", Ticket.waiting_since.db_value(at), "us", ticket.id))


def ticket_for_update(ticket_id: int) -> Ticket:
    """The fields of a ticket that appending mail needs, read without the query builder
    (a mail's hot path; the builder costs more than the query)."""
    number, status, requester = execute('SELECT "number", "status", "requester_id" FROM "ticket" WHERE "id" = ?',
                                        (ticket_id,)).fetchone()
    ticket = Ticket(id=ticket_id, number=number, status=status, requester=requester)
    ticket._dirty.clear()
    return ticket


def add_participants(ticket: Ticket, addresses: list[str]) -> None:
    for address in dict.fromkeys(addresses):
        if address:
            insert_if_absent(Participant, ticket=ticket.id, address=address[:320])


def is_participant(ticket: Ticket, address: str) -> bool:
    """True for the requester and anyone who was on the ticket's From, To or Cc (never for no address)."""
    if not address:
        return False
    return execute('SELECT 1 FROM "participant" WHERE "ticket_id" = ? AND "address" = ? '
                   'UNION ALL SELECT 1 FROM "customer" WHERE "id" = ? AND "email" = ?',
                   (ticket.id, address, ticket.requester_id, address)).fetchone() is not None


def audit(ticket: Ticket | None, action: str, detail: dict, actor=None) -> None:
    insert_fast(AuditEvent, ticket=ticket, actor=actor, action=action,
                detail=json.dumps(detail, ensure_ascii=False))


def _addresses_json(addresses: tuple[Address, ...]) -> str:
    return json.dumps([[a.name, a.addr] for a in addresses], ensure_ascii=False)


def _naive_utc(moment):
    return moment.replace(tzinfo=None) if moment is not None else None


# Ticket tags in subjects -------------------------------------------------

@lru_cache(maxsize=8)
def _tag_pattern(tag_format: str) -> re.Pattern:
    before, after = (re.escape(part) for part in tag_format.split("{ref}", 1))
    # Nine digits: ticket numbers are 32-bit integers in the database.
    return re.compile(before + r"\s*(\d{1,9})\s*" + after)


def tagged_number(subject: str, tag_format: str) -> int | None:
    """The ticket number a subject carries in the configured tag, if any."""
    match = _tag_pattern(tag_format).search(subject)
    return int(match.group(1)) if match else None


def untagged(subject: str, tag_format: str) -> str:
    """The subject without any ticket tag (each becomes a space)."""
    return _tag_pattern(tag_format).sub(" ", subject)


# Reading tickets back ------------------------------------------------------

def get_ticket(number: int) -> Ticket:
    ticket = Ticket.by_number(number)
    if ticket is None:
        raise NotFound(N_("no ticket #%(number)s", number=number))
    return ticket


def list_tickets(status: str | None = None, limit: int = 50) -> list[Ticket]:
    query = Ticket.select(Ticket, Customer).join(Customer)
    if status:
        query = query.where(Ticket.status == status)
    return list(query.order_by(Ticket.id.desc()).limit(limit))


def ticket_summary(ticket: Ticket) -> dict:
    return {
        "ticket": ticket.number, "subject": ticket.subject, "status": ticket.status,
        "priority": ticket.priority,
        "requester": {"email": ticket.requester.email, "name": ticket.requester.name,
                      "language": ticket.requester.language, "language_source": ticket.requester.language_source},
        "no_reply": reply_refusal(ticket),
        "support_address": ticket.support_address, "claimed_ref": ticket.claimed_ref,
        "created_at": ticket.created_at.isoformat() + "Z",
        "updated_at": ticket.updated_at.isoformat() + "Z",
    }


def ticket_detail(ticket: Ticket) -> dict:
    """The ticket with its messages (outbound ones with how their delivery went) and its
    trail (what happened to it, automatic mail held back among it), as the CLI and scripts see it."""
    messages = list(ticket.messages.order_by(Message.id))
    attachments = {}
    for att in Attachment.select().where(Attachment.message.in_([m.id for m in messages])):
        attachments.setdefault(att.message_id, []).append(att.filename)
    deliveries = {row.message_id.strip("<>"): row for row in Outgoing.select(
        Outgoing.id, Outgoing.message_id, Outgoing.kind, Outgoing.state, Outgoing.last_error, Outgoing.sent_at,
        Outgoing.bounced_at, Outgoing.attempts, Outgoing.template, Outgoing.language)
        .where(Outgoing.ticket == ticket.id)}
    detail = ticket_summary(ticket)
    detail["group"] = ticket.group_name or None
    detail["deadlines"] = {
        "first_answer": {"due": _iso(ticket.respond_by), "warns": _iso(ticket.respond_warn_at),
                         "met": _iso(ticket.first_response_at)},
        "resolution": {"due": _iso(ticket.resolve_by), "warns": _iso(ticket.resolve_warn_at),
                       "met": _iso(ticket.resolved_at)}}
    detail["messages"] = [_message_dict(m, attachments.get(m.id, []), deliveries.get(m.message_id or ""))
                          for m in messages]
    detail["suggestions"] = [
        {"article": row.article_id, "title": row.article.title, "state": row.article.state, "rank": row.rank}
        for row in ArticleSuggestion.select(ArticleSuggestion, Article).join(Article)
        .where(ArticleSuggestion.ticket == ticket.id).order_by(ArticleSuggestion.rank)]
    detail["articles"] = [{"article": row.article_id, "kind": row.kind} for row in ArticleLink.select()
                          .where(ArticleLink.ticket == ticket.id).order_by(ArticleLink.id)]
    detail["trail"] = [
        {"at": _iso(event.created_at), "action": event.action, "actor": event.actor.username if event.actor else None,
         "detail": json.loads(event.detail or "{}")}
        for event in AuditEvent.select(AuditEvent, User).join(User, JOIN.LEFT_OUTER)
        .where(AuditEvent.ticket == ticket.id).order_by(AuditEvent.id)]
    return detail


def _iso(moment) -> str | None:
    return None if moment is None else moment.isoformat() + "Z"


def _delivery_dict(row: Outgoing | None) -> dict | None:
    if row is None:
        return None
    return {"outbox": row.id, "kind": row.kind, "state": row.state, "attempts": row.attempts,
            "error": row.last_error if row.state in ("queued", "failed", "bounced", "uncertain") else "",
            "sent_at": _iso(row.sent_at), "bounced_at": _iso(row.bounced_at), "template": row.template,
            "language": row.language}


def _message_dict(message: Message, attachment_names: list[str], delivery: Outgoing | None = None) -> dict:
    return {
        "kind": message.kind, "message_id": message.message_id,
        "sender": {"email": message.sender_address, "name": message.sender_name},
        "subject": message.subject, "text": message.body_text, "visible_text": message.body_visible,
        "thread_signal": message.thread_signal, "automatic": message.automatic,
        "language": message.language, "language_confidence": message.language_confidence,
        "attachments": attachment_names,
        "date": message.sent_at.isoformat() + "Z" if message.sent_at else None,
        "notes": message.notes.splitlines(),
        "delivery": _delivery_dict(delivery),
    }
