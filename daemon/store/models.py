"""The data model: peewee models and short queries. No I/O, no business rules.

Timestamps are naive UTC. The schema these models describe is built by the
numbered migrations in daemon/store/migrations; change both together.
"""
from __future__ import annotations

import datetime as dt
import json

from peewee import (
    AutoField, BigIntegerField, BlobField, BooleanField, CharField, DateField, DateTimeField, DeferredForeignKey,
    FloatField,
    ForeignKeyField, IntegerField, Model, TextField,
)

from daemon.store.db import database


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Customer(BaseModel):
    email = CharField(max_length=320, unique=True)  # lower-cased address (not casefolded: ß is not ss)
    name = CharField(max_length=200, default="")
    created_at = DateTimeField(default=utcnow)
    attributes = TextField(default="{}")  # JSON: what policies may ask about (monthly_spend, plan...)
    language = CharField(max_length=8, default="")  # the language to write to them in ("" : not known)
    language_source = CharField(max_length=10, default="")  # detected, set (a person's word wins over detection)


ROLES = ("agent", "reviewer", "admin")


class User(BaseModel):
    username = CharField(max_length=100, unique=True)
    email = CharField(max_length=320, default="")
    name = CharField(max_length=200, default="")
    role = CharField(max_length=20, default="agent")
    password_hash = CharField(max_length=255)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    session_version = IntegerField(default=0)  # bumped at sign-out and password change: old cookies die
    language = CharField(max_length=8, default="")  # the console's language for them; "" follows the browser


class SignInThrottle(BaseModel):
    """Failed password checks under one key (an account name, a client address, a known browser,
    an account's current-password check): the sign-in throttle's memory."""
    key = CharField(max_length=200, unique=True)
    failures = IntegerField(default=0)  # since the last block, or the last quiet spell
    strikes = IntegerField(default=0)  # blocks so far: each lasts twice the one before
    last_at = DateTimeField(default=utcnow)
    blocked_until = DateTimeField(null=True)


STATUSES = ("new", "open", "pending", "solved", "closed")


class Ticket(BaseModel):
    number = IntegerField(unique=True, null=True)
    subject = TextField(default="")
    requester = ForeignKeyField(Customer, backref="tickets")
    status = CharField(max_length=20, default="new", index=True)
    priority = CharField(max_length=20, default="normal")
    assignee = ForeignKeyField(User, null=True, backref="tickets")
    support_address = CharField(max_length=320, default="")
    claimed_ref = IntegerField(null=True)  # a tag a stranger put in the subject
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    escalated = BooleanField(default=False)
    group_name = CharField(max_length=100, default="")  # the group it is assigned to ('' : none)
    first_response_at = DateTimeField(null=True)  # a person's first reply was queued
    respond_by = DateTimeField(null=True)  # the first answer is due ([sla], by priority, in business hours)
    respond_warn_at = DateTimeField(null=True)  # [sla] warn_percent of the way there
    resolve_by = DateTimeField(null=True)  # solving it is due
    resolve_warn_at = DateTimeField(null=True)
    resolved_at = DateTimeField(null=True)  # solved or closed; cleared when a customer's reply reopens it
    # Whose turn it is: who spoke last (automatic mail aside) and since their first word after the other's.
    last_speaker = CharField(max_length=10, default="customer")  # customer, us
    waiting_since = DateTimeField(null=True)
    last_inbound_at = DateTimeField(null=True)  # the customer's latest mail (not automatic)
    seen_at = DateTimeField(null=True)  # an agent opened the ticket page, every customer mail before this shown

    @classmethod
    def by_number(cls, number: int) -> "Ticket | None":
        return cls.get_or_none(cls.number == number)


class Participant(BaseModel):
    """An address that was on the ticket's From, To or Cc."""
    ticket = ForeignKeyField(Ticket, backref="participants", on_delete="CASCADE")
    address = CharField(max_length=320)

    class Meta:
        indexes = ((("ticket", "address"), True),)


class RawMail(BaseModel):
    """The bytes of a received mail, content-addressed and never altered."""
    sha256 = CharField(max_length=64, unique=True)
    data = BlobField()
    size = IntegerField()
    created_at = DateTimeField(default=utcnow)


class Message(BaseModel):
    ticket = ForeignKeyField(Ticket, backref="messages", on_delete="CASCADE")
    kind = CharField(max_length=10, default="inbound")  # inbound, outbound, note
    message_id = CharField(max_length=998, null=True, index=True)
    in_reply_to = TextField(default="")
    refs = TextField(default="")  # References, space-separated
    sender_address = CharField(max_length=320, default="")
    sender_name = CharField(max_length=200, default="")
    to_addrs = TextField(default="")  # JSON list of [name, address]
    cc_addrs = TextField(default="")
    subject = TextField(default="")
    sent_at = DateTimeField(null=True)  # the mail's own Date header
    created_at = DateTimeField(default=utcnow)
    body_text = TextField(default="")
    body_visible = TextField(default="")
    body_html = TextField(null=True)
    automatic = CharField(max_length=200, null=True)  # why it must not be answered
    thread_signal = CharField(max_length=20, null=True)  # in-reply-to, references, subject-tag
    notes = TextField(default="")  # what decoding had to repair, one per line
    raw = ForeignKeyField(RawMail, null=True, backref="messages")
    author = ForeignKeyField(User, null=True, backref="messages")
    language = CharField(max_length=8, default="")  # detected in the text ("" : could not tell)
    language_confidence = FloatField(null=True)


class Attachment(BaseModel):
    message = ForeignKeyField(Message, backref="attachments", on_delete="CASCADE")
    filename = CharField(max_length=255)
    content_type = CharField(max_length=255)
    size = IntegerField()
    sha256 = CharField(max_length=64)
    stored = BooleanField(default=True)  # False when over the size limit (still in the raw mail)
    inline = BooleanField(default=False)
    content_id = CharField(max_length=255, null=True)


SPOOL_STATES = ("queued", "processing", "done", "discarded", "quarantined")


class Inbound(BaseModel):
    """The spool: one row per delivery of raw bytes, with where it came from."""
    id = AutoField()
    raw = ForeignKeyField(RawMail, backref="deliveries")
    origin = CharField(max_length=20)  # smtp, lmtp, imap, cli
    origin_detail = TextField(default="")  # JSON: peer, envelope, file, mailbox/UID
    mail_from = CharField(max_length=998, null=True)  # envelope sender; '' is the null sender
    state = CharField(max_length=20, default="queued")
    outcome = CharField(max_length=20, null=True)  # created, threaded, duplicate, ignored, quarantined
    reason = TextField(default="")
    detail = TextField(default="")  # traceback of a quarantine
    attempts = IntegerField(default=0)
    lease_until = DateTimeField(null=True)
    claim_token = CharField(max_length=32, null=True)  # who holds the lease
    claimed_by = CharField(max_length=200, null=True)  # host/pid/start of the process holding it
    received_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    message = ForeignKeyField(Message, null=True, backref="deliveries")
    spooled_id = CharField(max_length=998, null=True, index=True)  # the mail's Message-ID, as the edge read it
    mailbox = CharField(max_length=320, null=True)  # IMAP: the mailbox's name, with uidvalidity and UID
    uidvalidity = BigIntegerField(null=True)
    imap_uid = BigIntegerField(null=True)
    filed_at = DateTimeField(null=True)  # IMAP: when the mail was moved out of the folder read

    class Meta:
        indexes = ((("state", "id"), False),)


MAILBOX_STATUSES = ("starting", "ok", "failing", "stopped")


class MailboxState(BaseModel):
    """One IMAP mailbox: its checkpoint and its health."""
    name = CharField(max_length=320, unique=True)
    uidvalidity = BigIntegerField(null=True)
    last_uid = BigIntegerField(default=0)  # the highest UID spooled under uidvalidity
    status = CharField(max_length=20, default="starting")
    read_only = BooleanField(default=False)
    idle = BooleanField(default=False)  # the server advertises IDLE and we use it
    failing_since = DateTimeField(null=True)
    last_error = TextField(default="")
    last_ok_at = DateTimeField(null=True)
    alerted_at = DateTimeField(null=True)  # the failure alert went out
    updated_at = DateTimeField(null=True)
    # A mail the server fails to deliver: UIDs up to careful_until are fetched one at a
    # time, and stuck_uid has been tried stuck_tries times (kept across restarts, so a
    # mail that kills the daemon is skipped in the end too).
    careful_until = BigIntegerField(default=0)
    stuck_uid = BigIntegerField(null=True)
    stuck_tries = IntegerField(default=0)


# "uncertain": its holder died after handing the content to the relay; whether it left is not known,
# so it waits for a person's word (send it again, or take it as sent) instead of going twice.
OUTBOX_STATES = ("rendering", "queued", "sending", "sent", "failed", "bounced", "uncertain")


class Outgoing(BaseModel):
    """The outbox: every mail that leaves, composed, waiting for the sender."""
    ticket = ForeignKeyField(Ticket, null=True, backref="outgoing", on_delete="CASCADE")
    kind = CharField(max_length=20)  # alert, acknowledgement, reply, notice
    mail_from = CharField(max_length=320)
    recipients = TextField()  # JSON list of addresses
    message_id = CharField(max_length=998, index=True)
    subject = TextField(default="")
    data = BlobField()  # the composed mail, as sent
    state = CharField(max_length=20, default="queued")
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    lease_until = DateTimeField(null=True)
    claim_token = CharField(max_length=32, null=True)
    last_error = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)
    automatic = BooleanField(default=False)  # no person wrote it: the automatic-mail caps count it
    to_address = CharField(max_length=320, default="")  # the first recipient, lower-cased
    template = CharField(max_length=64, null=True)  # the reply template that produced it
    template_revision = IntegerField(null=True)  # ... as it stood then
    article = DeferredForeignKey("Article", null=True, on_delete="SET NULL", backref="mail")  # a template's article
    article_revision = IntegerField(null=True)
    bounced_at = DateTimeField(null=True)  # a delivery failure report came back for it
    language = CharField(max_length=8, default="")  # the language it went out in
    claimed_by = CharField(max_length=200, null=True)  # host/pid/start of the sender holding it
    data_at = DateTimeField(null=True)  # its content went to the relay, no answer recorded yet

    class Meta:
        table_name = "outbox"
        indexes = ((("state", "next_attempt_at"), False), (("to_address", "created_at"), False))


class Node(BaseModel):
    """A running daemon process: what it does and when it last said it was alive."""
    identity = CharField(max_length=200, unique=True)  # host/pid/start, as claims name it
    host = CharField(max_length=255)
    pid = IntegerField()
    roles = CharField(max_length=100)  # comma-separated: ingest, outbox, scheduler, console
    started_at = DateTimeField(default=utcnow)
    heartbeat_at = DateTimeField(default=utcnow)
    stopped_at = DateTimeField(null=True)  # a clean stop; a killed process leaves it empty


class Lease(BaseModel):
    """Something one process holds at a time across the cluster ("mailbox:<name>")."""
    name = CharField(max_length=200, unique=True)
    holder = CharField(max_length=200, null=True)
    until = DateTimeField(null=True)  # renewed by the holder's heartbeat
    taken_at = DateTimeField(null=True)
    takeovers = IntegerField(default=0)  # times it was taken from a holder known dead


class JobRun(BaseModel):
    """One cluster-wide job in one period: claimed by one process, so it runs once."""
    job = CharField(max_length=100)
    period = CharField(max_length=40)  # the scheduled time it stands for, ISO
    holder = CharField(max_length=200)
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    attempts = IntegerField(default=1)  # more than one: a holder died and another took it over

    class Meta:
        indexes = ((("job", "period"), True),)


class RateLimit(BaseModel):
    """How many posts one client made in one window (a minute): `key` is a keyed hash of what was posted
    to and the client's address, so the address itself is never stored. Old windows are deleted."""
    key = CharField(max_length=64)
    window = DateTimeField()
    count = IntegerField(default=0)

    class Meta:
        indexes = ((("key", "window"), True),)


class InstallationFact(BaseModel):
    """A fact all daemons of the installation must agree on (the signing key's fingerprint)."""
    name = CharField(max_length=100, unique=True)
    value = TextField()
    recorded_at = DateTimeField(default=utcnow)


class AuditEvent(BaseModel):
    ticket = ForeignKeyField(Ticket, null=True, backref="trail", on_delete="CASCADE")
    actor = ForeignKeyField(User, null=True)  # None: the system
    action = CharField(max_length=50)
    detail = TextField(default="")
    created_at = DateTimeField(default=utcnow)


class ReplyTemplate(BaseModel):
    """A team's own reply template; it wins over a built-in file of the same name.

    Written from the console and checked by daemon.outbound.replies before it is saved.
    """
    name = CharField(max_length=64)
    language = CharField(max_length=8, default="")  # a variant for readers of it; "" the base text
    subject = TextField()
    text = TextField()
    html = TextField(null=True)  # None: the mail has a plain-text part only
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True, backref="reply_templates", on_delete="SET NULL")
    revision = IntegerField(default=1)  # counts saves; sent mail records the one it used
    article = DeferredForeignKey("Article", null=True, on_delete="SET NULL", backref="templates")
    article_revision = IntegerField(null=True)  # the article's revision the text was taken from
    needs_review = BooleanField(default=False)  # the article changed since

    class Meta:
        indexes = ((("name", "language"), True),)


# What came of a ticket; the review queue shows the ones that did not end well first.
OUTCOME_KINDS = ("resolved", "workaround", "not-resolved", "escalated", "duplicate", "no-response")
VERDICTS = ("sound", "needs-follow-up", "exemplary")


class PatrolReport(BaseModel):
    """An SBO note: what the customer faced, what the agent did, what came of it.

    Append-only and hash-chained (see daemon/patrol/logbook.py); a correction is a new
    report naming the one it corrects.
    """
    seq = IntegerField(unique=True)
    ticket = ForeignKeyField(Ticket, backref="reports", on_delete="RESTRICT")
    corrects = ForeignKeyField("self", null=True, backref="corrections", on_delete="RESTRICT")
    kind = CharField(max_length=20)  # interim, closing
    situation = TextField()
    behaviour = TextField()
    outcome = TextField()
    outcome_kind = CharField(max_length=30, index=True)
    cause = TextField(default="")
    tags = TextField(default="[]")  # JSON list
    facts = TextField(default="{}")  # JSON: the ticket's own facts when the note was written
    customer_hears = TextField(default="")  # what the solved notice told the customer
    author = ForeignKeyField(User, null=True, backref="reports", on_delete="RESTRICT")
    created_at = DateTimeField(default=utcnow, index=True)
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64, unique=True)


class PatrolReview(BaseModel):
    """A reviewer's reading of a report: verdict, analysis, decision. Append-only, hash-chained."""
    seq = IntegerField(unique=True)
    report = ForeignKeyField(PatrolReport, backref="reviews", on_delete="RESTRICT")
    verdict = CharField(max_length=30)
    analysis = TextField()
    decision = TextField()
    reviewer = ForeignKeyField(User, null=True, backref="reviews", on_delete="RESTRICT")
    created_at = DateTimeField(default=utcnow)
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64, unique=True)


class Policy(BaseModel):
    """A rule that was tacit knowledge: when `condition` holds for a ticket, do `action`.

    The condition is daemon.patrol.policies' small expression language, never Python.
    """
    name = CharField(max_length=100, unique=True)
    condition = TextField()
    action = CharField(max_length=200)  # priority:high, group:NAME, escalate, notify-reviewers
    enabled = BooleanField(default=True)
    description = TextField(default="")
    from_review = ForeignKeyField(PatrolReview, null=True, backref="policies", on_delete="SET NULL")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


class PolicyFiring(BaseModel):
    """A policy acted on a ticket (once per policy and ticket)."""
    policy = ForeignKeyField(Policy, backref="firings", on_delete="CASCADE")
    ticket = ForeignKeyField(Ticket, backref="firings", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("policy", "ticket"), True),)


class DeadlineNotice(BaseModel):
    """A deadline's warning or breach, told to the assignee and reviewers once (the unique key sees to it)."""
    ticket = ForeignKeyField(Ticket, backref="deadline_notices", on_delete="CASCADE")
    deadline = CharField(max_length=20)  # first_answer, resolution
    level = CharField(max_length=10)  # warning, breach
    due_at = DateTimeField()
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("ticket", "deadline", "level"), True),)


# Knowledge (KCS): articles, their revisions, flags, links to tickets, searches ------------------

# draft: work in progress; not_validated: complete, unchecked; validated: checked by a reviewer;
# published: visible to customers; archived: retired, kept. A variant has one of these states; the
# article has the furthest of its variants' (ARTICLE_STATES is ordered, archived only when all are).
ARTICLE_STATES = ("draft", "not_validated", "validated", "published", "archived")
FLAG_KINDS = ("inaccurate", "outdated", "duplicate", "wrong", "incomplete", "reopened", "rewrite")
LINK_KINDS = ("created", "reused", "reply")
_PROGRESS_RANK = {"published": 0, "validated": 1, "not_validated": 2, "draft": 3, "archived": 4}


class Article(BaseModel):
    """One problem in the knowledge base: its lifecycle, links, flags and reuse; its text is in its
    variants, one per language (ArticleVariant). Every change is also an ArticleRevision.

    state, validated_at, validated_by and published_at sum up the variants (written with every change
    of one, in the same transaction): the article is as far along as its furthest variant.
    """
    state = CharField(max_length=20, default="draft", index=True)
    revision = IntegerField(default=1)  # the number of the latest revision, of any variant
    source_ticket = ForeignKeyField(Ticket, null=True, backref="drafted_articles", on_delete="SET NULL")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="articles")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    validated_at = DateTimeField(null=True)  # the latest validation of any variant
    validated_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="validated_articles")
    published_at = DateTimeField(null=True)  # the latest publication of any variant
    reuse_count = IntegerField(default=0)
    last_used_at = DateTimeField(null=True)
    reopen_count = IntegerField(default=0)  # tickets that came back after being closed with it

    @property
    def variant_list(self) -> list["ArticleVariant"]:
        """Its variants, furthest state first, then oldest (read once per instance; with_variants reads
        them for many articles in one query)."""
        cached = self.__dict__.get("_variant_list")
        if cached is None:
            self.keep_variants(ArticleVariant.select().where(ArticleVariant.article == self.id))
            cached = self.__dict__["_variant_list"]
        return cached

    def keep_variants(self, variants) -> None:
        self.__dict__["_variant_list"] = sorted(variants, key=lambda v: (_PROGRESS_RANK.get(v.state, 9), v.id))

    def forget_variants(self) -> None:
        self.__dict__.pop("_variant_list", None)

    @staticmethod
    def with_variants(articles: list["Article"]) -> list["Article"]:
        """The articles, each with its variants read (one query for all)."""
        found: dict[int, list] = {a.id: [] for a in articles}
        for variant in ArticleVariant.select().where(ArticleVariant.article.in_(list(found))):
            found[variant.article_id].append(variant)
        for article in articles:
            article.keep_variants(found[article.id])
        return articles

    def variant(self, language: str) -> "ArticleVariant | None":
        return next((v for v in self.variant_list if v.language == language), None)

    @property
    def languages(self) -> list[str]:
        return [v.language for v in self.variant_list]

    @property
    def primary(self) -> "ArticleVariant | None":
        """The variant shown when no reader's language is known: the furthest along, then the oldest."""
        found = self.variant_list
        return found[0] if found else None

    # What code that shows "the article" without a reader's language reads: the primary variant's.
    title = property(lambda self: self.primary.title if self.primary else "")
    issue = property(lambda self: self.primary.issue if self.primary else "")
    environment = property(lambda self: self.primary.environment if self.primary else "")
    resolution = property(lambda self: self.primary.resolution if self.primary else "")
    cause = property(lambda self: self.primary.cause if self.primary else "")
    keywords = property(lambda self: self.primary.keywords if self.primary else "[]")
    language = property(lambda self: self.primary.language if self.primary else "")

    @property
    def keyword_list(self) -> list[str]:
        return json.loads(self.keywords or "[]")


class ArticleVariant(BaseModel):
    """An article in one language: its KCS text and its own state (validated and published apart)."""
    article = ForeignKeyField(Article, backref="variants", on_delete="CASCADE")
    language = CharField(max_length=8)
    title = TextField()
    issue = TextField(default="")  # the problem in the customer's words
    environment = TextField(default="")  # products, versions, context
    resolution = TextField(default="")  # the steps
    cause = TextField(default="")
    keywords = TextField(default="[]")  # JSON list: the words people search with
    state = CharField(max_length=20, default="draft")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="article_variants")
    validated_at = DateTimeField(null=True)
    validated_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="validated_variants")
    published_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("article", "language"), True),)

    @property
    def keyword_list(self) -> list[str]:
        return json.loads(self.keywords or "[]")


class ArticleRevision(BaseModel):
    """One variant of an article as it stood after one change: who made it, when, and why.

    Numbered per article (any variant's change takes the next number); `language` says which variant.
    """
    article = ForeignKeyField(Article, backref="revisions", on_delete="CASCADE")
    number = IntegerField()
    language = CharField(max_length=8, default="")
    title = TextField()
    issue = TextField(default="")
    environment = TextField(default="")
    resolution = TextField(default="")
    cause = TextField(default="")
    keywords = TextField(default="[]")
    state = CharField(max_length=20)
    author = ForeignKeyField(User, null=True, on_delete="SET NULL")
    ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")  # the ticket that prompted it
    note = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("article", "number"), True),)

    @property
    def keyword_list(self) -> list[str]:
        return json.loads(self.keywords or "[]")


class ArticleFlag(BaseModel):
    """Something wrong with an article, raised by anyone (or the system), cleared by a reviewer."""
    article = ForeignKeyField(Article, backref="flags", on_delete="CASCADE")
    kind = CharField(max_length=20)
    detail = TextField(default="")
    duplicate_of = ForeignKeyField(Article, null=True, on_delete="SET NULL", backref="duplicates")
    ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
    raised_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="raised_flags")  # None: the system
    raised_at = DateTimeField(default=utcnow)
    cleared_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="cleared_flags")
    cleared_at = DateTimeField(null=True, index=True)
    clear_note = TextField(default="")


class ArticleRemoval(BaseModel):
    """Something drafting took out of a variant's text: where (a placeholder's place in a field, in order),
    what it was, and whether an agent put it back. A dropped greeting or signature has no field."""
    article = ForeignKeyField(Article, backref="removals", on_delete="CASCADE")
    language = CharField(max_length=8)
    field = CharField(max_length=20, default="")
    position = IntegerField(default=0)
    kind = CharField(max_length=30)
    placeholder = CharField(max_length=30, default="")
    text = TextField()
    restored_at = DateTimeField(null=True)
    restored_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    class Meta:
        indexes = ((("article", "language", "field", "position"), False),)


class QualitySample(BaseModel):
    """One article variant drawn for a week's Article Quality Index: whose work it was, at which revision,
    who is to score it, and how it scored (checks: JSON, a checklist item -> true, false, or null where
    it does not apply; score: percent)."""
    week = DateField(index=True)  # the Monday of the week the work was done in
    author = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="quality_samples")
    article = ForeignKeyField(Article, backref="quality_samples", on_delete="CASCADE")
    language = CharField(max_length=8)
    revision = IntegerField()  # the article's revision the author left this variant at that week
    reviewer = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="quality_to_score")
    drawn_at = DateTimeField(default=utcnow)
    scored_at = DateTimeField(null=True, index=True)
    scored_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="quality_scored")
    checks = TextField(default="{}")
    score = FloatField(null=True)
    note = TextField(default="")

    class Meta:
        indexes = ((("week", "author", "article", "language"), True),)


class ArticleFeedback(BaseModel):
    """A help-center reader's answer to "Did this solve it?" on one variant: yes or no, and what they
    added. Nothing about who they are is kept."""
    article = ForeignKeyField(Article, backref="feedback", on_delete="CASCADE")
    language = CharField(max_length=8)
    helpful = BooleanField()
    comment = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("article", "language"), False),)


class ArticleLink(BaseModel):
    """A ticket solved with (or having produced) an article: the reuse KCS counts."""
    article = ForeignKeyField(Article, backref="links", on_delete="CASCADE")
    ticket = ForeignKeyField(Ticket, backref="article_links", on_delete="CASCADE")
    kind = CharField(max_length=20)  # created, reused, reply
    report = ForeignKeyField(PatrolReport, null=True, on_delete="SET NULL")  # the closing report
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    reopened_at = DateTimeField(null=True)  # the ticket came back after it was closed with this article

    class Meta:
        indexes = ((("article", "ticket"), True),)


class ArticleSuggestion(BaseModel):
    """The best matching validated or published articles, found when the ticket was opened."""
    ticket = ForeignKeyField(Ticket, backref="suggestions", on_delete="CASCADE")
    article = ForeignKeyField(Article, on_delete="CASCADE")
    rank = IntegerField()
    score = FloatField()

    class Meta:
        indexes = ((("ticket", "article"), True),)


class SearchLog(BaseModel):
    """One search of the knowledge base by a person: the words, who, for which ticket, what came of it."""
    words = TextField()
    normalized = TextField(index=True)  # the distinct terms: "принтера" and "принтер" are one search
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
    origin = CharField(max_length=20, default="cli")  # cli, console
    results = IntegerField()
    result_ids = TextField(default="[]")  # JSON: the articles shown, best first
    used_article = ForeignKeyField(Article, null=True, on_delete="SET NULL")
    used_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)
