"""What the ticket page shows, gathered in a fixed number of queries whatever the thread's length."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property

from peewee import JOIN

from flask_babel import gettext as _, ngettext

from daemon.config import Config
from daemon.languages import DETECTED, name
from daemon.mail.language import CONFIDENT
from daemon.store.models import (
    Article, ArticleLink, ArticleSuggestion, Attachment, AuditEvent, Inbound, Message, Outgoing, PatrolReport, Policy,
    PolicyFiring, Ticket, User, utcnow,
)
from daemon.tickets import queue
from web.i18n import page_language


@dataclass
class ShownMessage:
    row: Message
    attachments: list = field(default_factory=list)
    delivery: Outgoing | None = None
    help_trail: dict | None = None  # sent from the help center: what the visitor searched for and read first

    @property
    def quoted(self) -> str:
        """The full text when it holds more than what the sender newly wrote (quoted history, signature)."""
        full, visible = self.row.body_text.strip(), self.row.body_visible.strip()
        return full if full and full != visible else ""

    @property
    def language_unsure(self) -> bool:
        """The detector named a language for the mail but was not sure of it."""
        return bool(self.row.language) and (self.row.language_confidence or 0) < CONFIDENT

    @property
    def possibly_sent(self) -> bool:
        """Its sender stopped inside the SMTP transaction: whether it arrived waits for an agent's word."""
        return self.delivery is not None and self.delivery.state == "uncertain"

    @property
    def folded(self) -> bool:
        """Automatic mail (our acknowledgements, auto-replies and bounces) shows as one line until opened,
        unless it waits for an agent's word on whether it arrived."""
        return bool(self.row.automatic) and self.row.kind != "note" and not self.possibly_sent


@dataclass
class TicketView:
    ticket: Ticket
    messages: list
    suggestions: list
    links: list
    trail: list
    firings: list
    reports: list
    sla: str  # overdue, soon, ok, answered, answered late
    resolution: str = ""  # overdue, soon, ok, solved, solved late

    @cached_property
    def opens_at(self) -> int:
        """The index of the message the page opens at: the newest a person wrote (folded automatic mail
        is no place to land), else the newest."""
        written = [i for i, message in enumerate(self.messages) if not message.folded]
        return written[-1] if written else len(self.messages) - 1


def view(config: Config, ticket: Ticket) -> TicketView:
    messages = [ShownMessage(m) for m in Message.select(Message, User).join(User, JOIN.LEFT_OUTER)
                .where(Message.ticket == ticket.id).order_by(Message.id)]
    by_id = {m.row.id: m for m in messages}
    for att in Attachment.select().where(Attachment.message.in_(list(by_id))).order_by(Attachment.id):
        if not att.inline or not att.content_id:
            by_id[att.message_id].attachments.append(att)
    # How each sent mail fared; not the composed mail itself (Outgoing.data), which the page never shows.
    deliveries = {row.message_id.strip("<>"): row for row in Outgoing.select(
        Outgoing.id, Outgoing.message_id, Outgoing.kind, Outgoing.state, Outgoing.last_error, Outgoing.language,
        Outgoing.data_at)
        .where(Outgoing.ticket == ticket.id)}
    for message in messages:
        message.delivery = deliveries.get(message.row.message_id or "")
    for message_id, detail in Inbound.select(Inbound.message, Inbound.origin_detail).where(
            Inbound.message.in_(list(by_id)) & (Inbound.origin == "help")).tuples():
        by_id[message_id].help_trail = json.loads(detail or "{}").get("trail", {})
    return TicketView(
        ticket=ticket, messages=messages,
        suggestions=list(ArticleSuggestion.select(ArticleSuggestion, Article).join(Article)
                         .where(ArticleSuggestion.ticket == ticket.id).order_by(ArticleSuggestion.rank)),
        links=list(ArticleLink.select(ArticleLink, Article).join(Article)
                   .where(ArticleLink.ticket == ticket.id).order_by(ArticleLink.id)),
        trail=[(event, json.loads(event.detail or "{}")) for event in
               AuditEvent.select(AuditEvent, User).join(User, JOIN.LEFT_OUTER)
               .where(AuditEvent.ticket == ticket.id).order_by(AuditEvent.id)],
        firings=list(PolicyFiring.select(PolicyFiring, Policy).join(Policy)
                     .where(PolicyFiring.ticket == ticket.id).order_by(PolicyFiring.id)),
        reports=list(PatrolReport.select(PatrolReport, User).join(User, JOIN.LEFT_OUTER)
                     .where(PatrolReport.ticket == ticket.id).order_by(PatrolReport.seq)),
        sla=queue.sla_state(ticket.status, ticket.respond_by, ticket.first_response_at, utcnow(),
                            ticket.respond_warn_at),
        resolution=queue.resolution_state(ticket.status, ticket.resolve_by, ticket.resolved_at, utcnow(),
                                          ticket.resolve_warn_at),
    )


def language_name(code: str) -> str:
    """A language's name as the reader of this page writes it ("ru" on a bokmål page: "russisk")."""
    return name(code, page_language()) if code else ""


def language_choices() -> list[tuple[str, str]]:
    """(code, name) of every language a customer can be written to in, by name on this page."""
    return sorted(((code, language_name(code)) for code in DETECTED), key=lambda choice: choice[1].casefold())


def closed_message(report: PatrolReport) -> str:
    """What the agent is told after closing: the report, and what knowledge capture did."""
    captured = getattr(report, "capture", None)
    text = _("Closed with patrol report %(id)s.", id=report.id)
    if captured is None:
        return text
    article = captured.article
    if captured.action == "reused" and article is not None:
        return text + " " + _("It matched article %(id)s (%(title)s), linked as a reuse: improve that article "
                              "if your note adds to it.", id=article.id, title=article.title)
    if captured.action == "linked" and article is not None:
        return text + " " + _("Linked to article %(id)s.", id=article.id)
    if captured.action == "drafted" and article is not None and captured.removed:
        return text + " " + ngettext("A draft article %(id)s was written from your note; %(num)d personal detail "
                                     "removed.", "A draft article %(id)s was written from your note; %(num)d "
                                     "personal details removed.", len(captured.removed), id=article.id)
    if captured.action == "drafted" and article is not None:
        return text + " " + _("A draft article %(id)s was written from your note.", id=article.id)
    if captured.action == "failed":
        return text + " " + _("Capturing it for the knowledge base failed; the ticket's trail says why.")
    return text
