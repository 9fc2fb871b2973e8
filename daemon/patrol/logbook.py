"""SBO notes and the patrol-report log.

No ticket is solved or closed without a note: the Situation the customer
faced, the Behaviour of the agent (what they did, step by step), and the
Outcome (what came of it, and why), with an outcome kind, an optional
cause and tags. `close` is the one operation that solves or closes a
ticket, for every front door; it refuses a weak note with one message per
field. The ticket's own facts (customer, times, messages) are attached to
the note by the system, never retyped.

Every note is a report in an append-only log: a correction is a new report
that names the one it corrects, and reviews are appended beside it. Each
row carries the hash of the row before it and an HMAC over its own content,
keyed with the installation's secret ([support] message_id_secret, or
var/message-id.key), so `verify` finds a report edited, inserted or removed
behind the application's back by someone without that key, and names the
first row where the chain breaks. What a chain cannot show is the removal
of its newest rows; `verify` prints the counts, to compare with a digest.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field

from peewee import JOIN, SQL, Case, fn

from daemon import knowledge, outbound, tickets
from daemon.config import Config
from daemon.errors import NotFound, PatroldeskError
from daemon.languages import N_, Text
from daemon.outbound import message_id_key
from daemon.store import db
from daemon.store.db import database
from daemon.store.models import (
    OUTCOME_KINDS, VERDICTS, ArticleLink, Customer, Message, PatrolReport, PatrolReview, Ticket, User, utcnow,
)

GENESIS = "0" * 64  # the hash before the first row of a chain
FIELDS = ("situation", "behaviour", "outcome")
_ASKS = {
    "situation": N_("what the customer faced, in their context"),
    "behaviour": N_("what you did, step by step"),
    "outcome": N_("what came of it, and why"),
}
# The fields as a refusal names them ("the same text as the situation").
_FIELD_NAMES = {"situation": N_("situation"), "behaviour": N_("behaviour"), "outcome": N_("outcome")}
_EDGE_PUNCTUATION = ".,;:!¡?¿…-–—\"'«»()[] \t"
# One PostgreSQL advisory lock per chain: a row and its predecessor's hash are written in one turn.
_CHAIN_LOCKS = {"patrol_report": 7_240_001, "patrol_review": 7_240_002}


@dataclass(frozen=True)
class Note:
    situation: str
    behaviour: str
    outcome: str
    outcome_kind: str
    cause: str = ""
    tags: tuple[str, ...] = ()
    tell_behaviour: bool = False  # the solved notice tells the customer what was done, too


class NoteRefused(PatroldeskError):
    """A note that does not say enough; `problems` maps each field to what is wrong with it
    (each a daemon.languages.Text the console says in the agent's language)."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("the SBO note is refused: " + "; ".join(f"{key}: {why}" for key, why in problems.items()))


@dataclass
class ChainBreak:
    table: str
    seq: int
    row_id: int
    reason: str

    def __str__(self) -> str:
        what = "report" if self.table == "patrol_report" else "review"
        return f"{what} {self.row_id} (entry {self.seq} of {self.table}): {self.reason}"


@dataclass
class Verification:
    reports: int = 0
    reviews: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)
    reports_head: str = ""  # the newest entries' hashes (first 16 hex digits), as the digest quotes them
    reviews_head: str = ""

    @property
    def ok(self) -> bool:
        return not self.breaks


# The note -----------------------------------------------------------------

def check_note(config: Config, note: Note) -> dict[str, str]:
    """What is wrong with a note, field by field (empty when nothing is)."""
    problems = _check_texts(config, note)
    if note.outcome_kind not in OUTCOME_KINDS:
        kinds = ", ".join(OUTCOME_KINDS)
        problems["outcome_kind"] = N_("one of %(kinds)s, not %(given)r", kinds=kinds, given=note.outcome_kind) \
            if note.outcome_kind else N_("one of %(kinds)s", kinds=kinds)
    bad_tags = [tag for tag in note.tags if not tag.strip() or len(tag) > 64]
    if bad_tags:
        problems["tags"] = N_("each tag is 1 to 64 characters")
    return problems


def _check_texts(config: Config, note: Note) -> dict[str, str]:
    problems: dict[str, str] = {}
    cfg = config.patrol
    texts = {name: " ".join((getattr(note, name) or "").split()) for name in FIELDS}
    for name, text in texts.items():
        if not text:
            problems[name] = N_("missing: write %(ask)s", ask=_ASKS[name])
    if not cfg.validate:
        return problems
    placeholders = {_normal(word) for word in cfg.placeholders}
    seen: dict[str, str] = {}
    for name, text in texts.items():
        if name in problems:
            continue
        normal = _normal(text)
        if normal in placeholders:
            problems[name] = N_("%(text)r says nothing a reviewer can learn from: write %(ask)s", text=text,
                                ask=_ASKS[name])
        elif len(text) < cfg.min_length:
            problems[name] = N_("too short (%(length)s characters, at least %(least)s): write %(ask)s",
                                length=len(text), least=cfg.min_length, ask=_ASKS[name])
        elif normal in seen:
            problems[name] = N_("the same text as the %(field)s: write %(ask)s", field=_FIELD_NAMES[seen[normal]],
                                ask=_ASKS[name])
        seen.setdefault(normal, name)
    return {name: problems[name] for name in FIELDS if name in problems}


def _normal(text: str) -> str:
    return " ".join(text.casefold().split()).strip(_EDGE_PUNCTUATION)


# Writing reports ------------------------------------------------------------

def close(config: Config, ticket: Ticket, note: Note, agent: User | None, status: str = "solved",
          notify: bool = True, written_at: dt.datetime | None = None, article=None,
          article_flag=None, new_article: bool = False, article_title: str = "",
          article_steps: str = "") -> PatrolReport:
    """Solve (or close) a ticket with its closing SBO note: one transaction writes the report,
    the new status, the trail, the knowledge captured (daemon.knowledge.capture: the ticket linked to
    `article`, flagged with `article_flag`, to a matching article, or to a new draft;
    `report.capture` says which) and,
    when `notify`, the solved notice to the customer (naming the article when it is published).
    `written_at` dates the report (history brought over from another system; default now).

    Raises NoteRefused for a weak note, PatroldeskError for a ticket already solved or closed,
    TemplateRefused when the solved notice does not render, knowledge.ChooseArticle when articles are
    alike enough to ask about (name one as `article`, or say `new_article` for a draft); nothing is
    written then. `article_title` and `article_steps`: a draft's title (the problem as the customer
    would search for it) and its resolution as steps for the customer; left out, the draft is made
    from the note and flagged for the agent's rewrite.
    """
    if status not in ("solved", "closed"):
        raise PatroldeskError(N_("a ticket is closed as solved or closed, not %(status)r", status=status))
    _refuse_weak(config, note)
    article = knowledge.get_article(article.id) if article is not None else None
    if article is not None and article.state not in knowledge.LIVE_STATES:
        raise knowledge.NotAllowed(N_("article %(id)s is %(state)s; close with a live article, "
                                      "or let the knowledge base be searched", id=article.id,
                                      state=Text(article.state)))
    if article_flag is not None:
        if article is None:
            raise PatroldeskError(N_("a flag is raised on the article the ticket is closed with: name the article"))
        problems = knowledge.check_flag(article, article_flag.kind, agent, article_flag.detail)
        if problems:
            raise knowledge.ArticleRefused(problems)
    matches = None
    if article is None and ticket.status not in ("solved", "closed"):
        matches = knowledge.matches_for_close(config, ticket, note)  # looked up once, used by the capture too
        if matches is not None and matches.ask and not new_article:
            raise knowledge.ChooseArticle(list(matches.ask))
    with database.atomic():
        _lock_chain("patrol_report")  # before the status is read: two closes of one ticket take turns
        current = Ticket.get_by_id(ticket.id)
        if current.status in ("solved", "closed"):
            raise PatroldeskError(N_("ticket #%(number)s is already %(status)s; a customer's reply opens it again, "
                                     "and it is closed with a new note", number=current.number,
                                     status=Text(current.status)))
        refusal = tickets.reply_refusal(current) if notify else None
        customer_hears = _customer_text(note) if notify and not refusal else ""
        report = _append_report(config, current, note, "closing", agent, customer_hears=customer_hears,
                                written_at=written_at)
        now = utcnow()
        Ticket.update(status=status, updated_at=now, resolved_at=now).where(Ticket.id == current.id).execute()
        tickets.audit(current, status, {"report": report.id, "outcome_kind": note.outcome_kind}, actor=agent)
        report.capture = knowledge.on_close(config, current, report, agent, article=article, flag=article_flag,
                                            wording=(article_title, article_steps), matches=matches)
        if refusal:  # closing must not fail for a notice that cannot go anywhere; the trail says why
            tickets.audit(current, "solved notice not sent", {"reason": refusal}, actor=agent)
        elif notify:
            current.status = status
            outbound.send_templated(config, current, "solved", "notice", agent=agent, body=customer_hears,
                                   article=knowledge.told_article(config, report.capture.article, current.requester))
    return report


def add_interim(config: Config, ticket: Ticket, note: Note, agent: User | None,
                written_at: dt.datetime | None = None) -> PatrolReport:
    """An SBO note on a ticket that stays open (before handing it over, say)."""
    _refuse_weak(config, note)
    with database.atomic():
        report = _append_report(config, Ticket.get_by_id(ticket.id), note, "interim", agent, written_at=written_at)
        tickets.audit(ticket, "interim report", {"report": report.id}, actor=agent)
    return report


def correct(config: Config, report: PatrolReport, note: Note, agent: User | None) -> PatrolReport:
    """A new revision of a report; the old one stays in the log, and the new one names it."""
    _refuse_weak(config, note)
    with database.atomic():
        latest = latest_revision(report)
        if latest.id != report.id:
            raise PatroldeskError(N_("report %(id)s was corrected already by report %(latest)s; correct that one",
                                     id=report.id, latest=latest.id))
        ticket = Ticket.get_by_id(report.ticket_id)
        corrected = _append_report(config, ticket, note, report.kind, agent, corrects=report,
                                   customer_hears=report.customer_hears)
        tickets.audit(ticket, "report corrected", {"report": corrected.id, "corrects": report.id}, actor=agent)
    return corrected


def review(config: Config, report: PatrolReport, verdict: str, analysis: str, decision: str, reviewer: User,
           written_at: dt.datetime | None = None) -> PatrolReview:
    """A reviewer's verdict, analysis and decision on a report, signed and dated; appended, never changed."""
    problems = {}
    if verdict not in VERDICTS:
        problems["verdict"] = N_("one of %(kinds)s, not %(given)r", kinds=", ".join(VERDICTS), given=verdict)
    if not analysis.strip():
        problems["analysis"] = N_("missing: write why it went as it went")
    if not decision.strip():
        problems["decision"] = N_("missing: write what to do differently (or that nothing needs to change)")
    if reviewer is None or reviewer.role not in ("reviewer", "admin"):
        problems["reviewer"] = N_("only a reviewer or an admin reviews reports")
    if problems:
        raise NoteRefused(problems)
    with database.atomic():
        seq, prev = _chain_head("patrol_review")
        row = PatrolReview(seq=seq, report=report.id, verdict=verdict, analysis=analysis.strip(),
                           decision=decision.strip(), reviewer=reviewer.id, created_at=written_at or utcnow(),
                           prev_hash=prev)
        row.hash = _hash_review(config, row)
        row.save(force_insert=True)
    return row


def _refuse_weak(config: Config, note: Note) -> None:
    problems = check_note(config, note)
    if problems:
        raise NoteRefused(problems)


def _append_report(config: Config, ticket: Ticket, note: Note, kind: str, agent: User | None,
                   corrects: PatrolReport | None = None,
                   customer_hears: str = "", written_at: dt.datetime | None = None) -> PatrolReport:
    seq, prev = _chain_head("patrol_report")
    row = PatrolReport(
        seq=seq, ticket=ticket.id, corrects=corrects.id if corrects else None, kind=kind,
        situation=note.situation.strip(), behaviour=note.behaviour.strip(), outcome=note.outcome.strip(),
        outcome_kind=note.outcome_kind, cause=(note.cause or "").strip(),
        tags=json.dumps(sorted({t.strip() for t in note.tags}), ensure_ascii=False),
        facts=json.dumps(ticket_facts(ticket), ensure_ascii=False, sort_keys=True), customer_hears=customer_hears,
        author=agent.id if agent else None, created_at=written_at or utcnow(), prev_hash=prev)
    row.hash = _hash_report(config, row)
    row.save(force_insert=True)
    return row


def _lock_chain(table: str) -> None:
    """Take this chain's turn for the rest of the transaction (SQLite's writer lock already does)."""
    if not db.is_sqlite():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_CHAIN_LOCKS[table],))


def _chain_head(table: str) -> tuple[int, str]:
    """The next position in a chain and the hash it continues from; call inside the writing transaction."""
    _lock_chain(table)
    last = database.execute_sql(f'SELECT "seq", "hash" FROM "{table}" ORDER BY "seq" DESC LIMIT 1').fetchone()
    return (1, GENESIS) if last is None else (last[0] + 1, last[1])


def _customer_text(note: Note) -> str:
    """What the solved notice tells the customer: the outcome, and the behaviour when the agent ticks it.
    The cause and any review stay inside."""
    text = note.outcome.strip()
    if note.tell_behaviour:
        text += "\n\n" + note.behaviour.strip()
    return text


def ticket_facts(ticket: Ticket) -> dict:
    """The ticket as it stands, attached to its note so no one retypes it."""
    customer = Customer.get_by_id(ticket.requester_id)
    messages = list(Message.select(Message.kind, Message.message_id, Message.created_at, Message.automatic)
                    .where(Message.ticket == ticket.id).order_by(Message.id))
    answered = [m.created_at for m in messages if m.kind == "outbound" and not m.automatic]
    return {
        "ticket": ticket.number, "subject": ticket.subject, "status": ticket.status, "priority": ticket.priority,
        "customer": {"email": customer.email, "name": customer.name},
        "opened_at": _iso(ticket.created_at), "noted_at": _iso(utcnow()),
        "first_response_at": _iso(answered[0]) if answered else None,
        "messages": {"inbound": sum(m.kind == "inbound" for m in messages),
                     "outbound": sum(m.kind == "outbound" for m in messages)},
        "message_ids": [m.message_id for m in messages if m.message_id][:200],
        "articles": [link.article_id for link in ArticleLink.select(ArticleLink.article)
                     .where(ArticleLink.ticket == ticket.id).order_by(ArticleLink.id)],
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat() + "Z"


# The chain ----------------------------------------------------------------

def _hash(config: Config, content: dict) -> str:
    """An HMAC, keyed with the installation's secret (kept outside the database): someone who
    can write to the database but not read that key cannot recompute a chain they altered."""
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(message_id_key(config), b"patrol-log\0" + text, hashlib.sha256).hexdigest()


def _hash_report(config: Config, row: PatrolReport) -> str:
    return _hash(config, {
        "seq": row.seq, "ticket": row.ticket_id, "corrects": row.corrects_id, "kind": row.kind,
        "situation": row.situation, "behaviour": row.behaviour, "outcome": row.outcome,
        "outcome_kind": row.outcome_kind, "cause": row.cause, "tags": row.tags, "facts": row.facts,
        "customer_hears": row.customer_hears, "author": row.author_id, "created_at": _stamp(row.created_at),
        "prev": row.prev_hash})


def _hash_review(config: Config, row: PatrolReview) -> str:
    return _hash(config, {
        "seq": row.seq, "report": row.report_id, "verdict": row.verdict, "analysis": row.analysis,
        "decision": row.decision, "reviewer": row.reviewer_id, "created_at": _stamp(row.created_at),
        "prev": row.prev_hash})


def _stamp(moment) -> str:
    """A timestamp as both databases give it back (SQLite may return the stored text)."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def verify(config: Config) -> Verification:
    """Walk both chains from their start; every row must follow its predecessor and hash to itself."""
    result = Verification()
    for table, model, hasher in (("patrol_report", PatrolReport, _hash_report),
                                 ("patrol_review", PatrolReview, _hash_review)):
        expected_seq, prev = 1, GENESIS
        count = 0
        for row in model.select().order_by(model.seq).iterator():
            count += 1
            problem = None
            if row.seq != expected_seq:
                problem = f"entry {expected_seq} is missing (the next one is {row.seq})"
            elif row.prev_hash != prev:
                problem = "it does not continue from the entry before it (one was changed, removed or inserted)"
            elif hasher(config, row) != row.hash:
                problem = "its content does not match its hash (it was changed after it was written)"
            if problem:
                result.breaks.append(ChainBreak(table, row.seq, row.id, problem))
                break
            expected_seq, prev = row.seq + 1, row.hash
        if table == "patrol_report":
            result.reports, result.reports_head = count, prev[:16] if count else ""
        else:
            result.reviews, result.reviews_head = count, prev[:16] if count else ""
    return result


# Reading the log -----------------------------------------------------------

# Unresolved and the like first: what did not happen matters as much as what did.
_ATTENTION = {"not-resolved": 0, "no-response": 1, "workaround": 2, "duplicate": 3, "escalated": 4, "resolved": 5}


def latest_revision(report: PatrolReport) -> PatrolReport:
    current = report
    while True:
        newer = PatrolReport.get_or_none(PatrolReport.corrects == current.id)
        if newer is None:
            return current
        current = newer


def revisions(report: PatrolReport) -> list[PatrolReport]:
    """Every version of a report, oldest first (the one it started as, then each correction)."""
    first = report
    while first.corrects_id is not None:
        first = PatrolReport.get_by_id(first.corrects_id)
    versions = [first]
    while True:
        newer = PatrolReport.get_or_none(PatrolReport.corrects == versions[-1].id)
        if newer is None:
            return versions
        versions.append(newer)


def get_report(report_id: int) -> PatrolReport:
    report = PatrolReport.get_or_none(PatrolReport.id == report_id)
    if report is None:
        raise NotFound(N_("no patrol report %(id)s", id=report_id))
    return report


def list_reports(since: dt.datetime | None = None, until: dt.datetime | None = None, agent: str | None = None,
                 outcome_kind: str | None = None, tag: str | None = None, cause: str | None = None,
                 reviewed: bool | None = None, current_only: bool = True, attention_first: bool = True,
                 limit: int = 100, offset: int = 0) -> list[PatrolReport]:
    """The log, filtered: by period, agent (username), outcome kind, tag, words in the cause,
    reviewed or not. Superseded revisions are left out unless `current_only` is False.
    One query, filtered, ordered and cut by the database, so a page costs the same at any size of log."""
    query = PatrolReport.select(PatrolReport, Ticket, User).join(Ticket).switch(PatrolReport).join(
        User, JOIN.LEFT_OUTER, on=(PatrolReport.author == User.id))
    if since:
        query = query.where(PatrolReport.created_at >= since)
    if until:
        query = query.where(PatrolReport.created_at < until)
    if agent:
        query = query.where(User.username == agent)
    if outcome_kind:
        query = query.where(PatrolReport.outcome_kind == outcome_kind)
    if cause:
        query = query.where(PatrolReport.cause.contains(cause))
    if tag:  # the tag as a JSON string inside the stored list: a whole element, no LIKE wildcards
        needle = json.dumps(tag.strip(), ensure_ascii=False)
        position = fn.instr(PatrolReport.tags, needle) if db.is_sqlite() else fn.strpos(PatrolReport.tags, needle)
        query = query.where(position > 0)
    if current_only:
        correction = PatrolReport.alias()
        query = query.where(~fn.EXISTS(correction.select(SQL("1")).where(correction.corrects == PatrolReport.id)))
    if reviewed is not None:
        review = fn.EXISTS(PatrolReview.select(SQL("1")).where(PatrolReview.report == PatrolReport.id))
        query = query.where(review if reviewed else ~review)
    order = [PatrolReport.seq.desc()]
    if attention_first:
        order.insert(0, Case(PatrolReport.outcome_kind, list(_ATTENTION.items()), 9))
    return list(query.order_by(*order).limit(limit).offset(offset))


def report_dict(report: PatrolReport) -> dict:
    return {
        "id": report.id, "seq": report.seq, "ticket": Ticket.get_by_id(report.ticket_id).number,
        "kind": report.kind, "corrects": report.corrects_id,
        "situation": report.situation, "behaviour": report.behaviour, "outcome": report.outcome,
        "outcome_kind": report.outcome_kind, "cause": report.cause, "tags": json.loads(report.tags),
        "facts": json.loads(report.facts), "customer_hears": report.customer_hears,
        "author": User.get_by_id(report.author_id).username if report.author_id else None,
        "created_at": _iso(report.created_at), "hash": report.hash,
        "reviews": [{"id": r.id, "verdict": r.verdict, "analysis": r.analysis, "decision": r.decision,
                     "reviewer": User.get_by_id(r.reviewer_id).username if r.reviewer_id else None,
                     "created_at": _iso(r.created_at)}
                    for r in PatrolReview.select().where(PatrolReview.report == report.id).order_by(PatrolReview.seq)],
    }


def tags_ok(text: str) -> tuple[str, ...]:
    """Tags as typed on a command line: comma- or space-separated."""
    return tuple(t for t in re.split(r"[,\s]+", text or "") if t)
