"""The patrol digest: the period's reports for the reviewers, what did not end well first.

Built from the log (daemon.patrol.logbook) and the policy firings, rendered from
templates/mail/patrol_digest.txt.j2 (and its language variants) in each recipient's
language (their account's, else [web] language), and queued in the outbox like any
mail, one per language. The daemon sends one on [patrol] digest_schedule;
`patroldesk patrol digest` shows or sends one by hand.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from dataclasses import dataclass, field

from daemon import knowledge, outbound
from daemon.config import Config
from daemon.store.db import database
from daemon.store.models import (
    OUTCOME_KINDS, DeadlineNotice, Outgoing, PatrolReport, PatrolReview, Policy, PolicyFiring, Ticket, User, utcnow,
)

log = logging.getLogger("patroldesk.digest")
TEMPLATE = "patrol_digest"
# Unresolved and escalated first: what did not happen matters as much as what did.
ORDER = ("not-resolved", "escalated", "no-response", "workaround", "duplicate", "resolved")
assert set(ORDER) == set(OUTCOME_KINDS)


@dataclass
class DigestReport:
    id: int
    ticket: int
    outcome_kind: str
    kind: str
    author: str
    situation: str
    outcome: str
    cause: str
    reviewed: bool


@dataclass
class Group:
    outcome_kind: str
    count: int
    previous: int
    reports: list[DigestReport] = field(default_factory=list)

    @property
    def delta(self) -> int:
        """How many more (or, below zero, fewer) than in the period before."""
        return self.count - self.previous

    @property
    def change(self) -> str:
        return "same as before" if self.delta == 0 else f"{self.delta:+d} on the period before"


@dataclass
class Digest:
    since: dt.datetime
    until: dt.datetime
    groups: list[Group]
    total: int
    previous_total: int
    unreviewed: int
    follow_ups: list[dict]
    policies: list[dict]
    log_head: dict  # the patrol log's length and newest hash when the digest was made: an anchor outside it
    quality: dict = field(default_factory=dict)  # the Article Quality Index of the last weeks (article_quality)
    deadlines: dict = field(default_factory=dict)  # breaches and warnings of the period (deadlines_in)

    @property
    def last_day(self) -> dt.datetime:
        """The last moment the digest covers (`until` is the first it does not)."""
        return self.until - dt.timedelta(seconds=1)

    @property
    def period(self) -> str:
        return f"{self.since:%Y-%m-%d} to {self.last_day:%Y-%m-%d}"


def build(since: dt.datetime, until: dt.datetime) -> Digest:
    """The digest of reports written in [since, until), with the counts of the period as long before it."""
    before = since - (until - since)
    current = _current_reports(since, until)
    previous_counts = _counts(_current_reports(before, since))
    reviewed = {r.report_id for r in PatrolReview.select(PatrolReview.report)}
    authors = {u.id: u.username for u in User.select(User.id, User.username)}
    numbers = {t.id: t.number for t in Ticket.select(Ticket.id, Ticket.number).where(
        Ticket.id.in_({r.ticket_id for r in current} or {0}))}
    groups = []
    for kind in ORDER:
        mine = [r for r in current if r.outcome_kind == kind]
        if not mine and not previous_counts.get(kind):
            continue
        groups.append(Group(kind, len(mine), previous_counts.get(kind, 0), [
            DigestReport(r.id, numbers.get(r.ticket_id, 0), r.outcome_kind, r.kind, authors.get(r.author_id, "-"),
                         _short(r.situation), _short(r.outcome), _short(r.cause), r.id in reviewed)
            for r in sorted(mine, key=lambda r: r.seq)]))
    return Digest(since=since, until=until, groups=groups, total=len(current),
                  previous_total=sum(previous_counts.values()),
                  unreviewed=sum(1 for r in current if r.id not in reviewed),
                  follow_ups=_open_follow_ups(), policies=_policies_fired(since, until), log_head=log_head(),
                  quality=article_quality(until), deadlines=deadlines_in(since, until))


BREACHES_LISTED = 20


def deadlines_in(since: dt.datetime, until: dt.datetime) -> dict:
    """The deadlines breached in [since, until) (counts, the period before's, and the first BREACHES_LISTED
    tickets), the warnings, and the active tickets late right now."""
    before = since - (until - since)

    def counted(start, end) -> dict:
        counts = {"first_answer": 0, "resolution": 0, "warning": 0}
        for notice in DeadlineNotice.select(DeadlineNotice.deadline, DeadlineNotice.level).where(
                (DeadlineNotice.created_at >= start) & (DeadlineNotice.created_at < end)):
            counts["warning" if notice.level == "warning" else notice.deadline] += 1
        return counts

    breaches = (DeadlineNotice.select(DeadlineNotice, Ticket).join(Ticket).where(
        (DeadlineNotice.level == "breach") & (DeadlineNotice.created_at >= since) & (DeadlineNotice.created_at < until))
        .order_by(DeadlineNotice.id).limit(BREACHES_LISTED))
    now = utcnow()
    active = Ticket.status.in_(("new", "open", "pending"))
    late_now = Ticket.select().where(active & ((Ticket.first_response_at.is_null() & (Ticket.respond_by < now))
                                               | (Ticket.resolve_by < now))).count()
    return {"counts": counted(since, until), "previous": counted(before, since), "late_now": late_now,
            "breaches": [{"ticket": n.ticket.number, "deadline": n.deadline, "due": f"{n.due_at:%Y-%m-%d %H:%M} UTC",
                          "solved": n.ticket.status in ("solved", "closed")} for n in breaches]}


QUALITY_WEEKS = 4


def article_quality(until: dt.datetime) -> dict:
    """The Article Quality Index of the QUALITY_WEEKS whole weeks before `until`, newest first (the team's
    and each agent's), the checklist items failed most in them, and how many samples wait for a score."""
    quality = knowledge.quality
    last = quality.week_of(until - dt.timedelta(days=7))
    weeks = quality.weekly(last - dt.timedelta(weeks=QUALITY_WEEKS - 1), last)
    failed = sum((week.failed for week in weeks), Counter())
    shown = lambda counted: {"index": counted.index, "scored": counted.scored, "sampled": counted.sampled}  # noqa
    return {"weeks": [{"week": week.week.isoformat(), "team": shown(week.team),
                       "agents": [{"name": name, **shown(counted)} for name, counted in week.agents.items()]}
                      for week in reversed(weeks) if week.team.sampled],
            "failed": [{"item": name, "count": count} for name, count in failed.most_common(3)],
            "waiting": quality.waiting_count()}


def log_head() -> dict:
    """How long the patrol log is and how its newest entry hashes. Kept in every digest mail, it is
    what `patrol verify` must still show later: a chain alone cannot reveal that its newest entries
    were removed."""
    head = {}
    for name, model in (("reports", PatrolReport), ("reviews", PatrolReview)):
        last = model.select(model.seq, model.hash).order_by(model.seq.desc()).first()
        head[name] = last.seq if last else 0
        head[f"{name}_head"] = last.hash[:16] if last else ""
    return head


def _current_reports(since: dt.datetime, until: dt.datetime) -> list[PatrolReport]:
    """The reports first written in the period, each as its latest revision: a correction made
    later changes what a report says, never which period it belongs to."""
    originals = list(PatrolReport.select().where(
        (PatrolReport.created_at >= since) & (PatrolReport.created_at < until) & PatrolReport.corrects.is_null())
        .order_by(PatrolReport.seq))
    newer = {r.corrects_id: r for r in PatrolReport.select().where(PatrolReport.corrects.is_null(False))}
    current = []
    for report in originals:
        while report.id in newer:
            report = newer[report.id]
        current.append(report)
    return current


def _counts(reports: list[PatrolReport]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.outcome_kind] = counts.get(report.outcome_kind, 0) + 1
    return counts


def _open_follow_ups() -> list[dict]:
    """Reports whose latest review asks for a follow-up, whenever they were written."""
    latest: dict[int, PatrolReview] = {}
    for review in PatrolReview.select().order_by(PatrolReview.seq):
        latest[review.report_id] = review
    open_ones = [r for r in latest.values() if r.verdict == "needs-follow-up"]
    reports = {r.id: r for r in PatrolReport.select().where(PatrolReport.id.in_([r.report_id for r in open_ones]
                                                                              or [0]))}
    numbers = {t.id: t.number for t in Ticket.select(Ticket.id, Ticket.number).where(
        Ticket.id.in_({r.ticket_id for r in reports.values()} or {0}))}
    reviewers = {u.id: u.username for u in User.select(User.id, User.username)}
    return [{"report": review.report_id, "ticket": numbers.get(reports[review.report_id].ticket_id),
             "decision": _short(review.decision), "reviewer": reviewers.get(review.reviewer_id, "-"),
             "since": f"{review.created_at:%Y-%m-%d}"}
            for review in sorted(open_ones, key=lambda r: r.seq)]


def _policies_fired(since: dt.datetime, until: dt.datetime) -> list[dict]:
    counts: dict[int, int] = {}
    for firing in PolicyFiring.select(PolicyFiring.policy).where(
            (PolicyFiring.created_at >= since) & (PolicyFiring.created_at < until)):
        counts[firing.policy_id] = counts.get(firing.policy_id, 0) + 1
    names = {p.id: (p.name, p.action) for p in Policy.select().where(Policy.id.in_(list(counts) or [0]))}
    return [{"name": names[pid][0], "action": names[pid][1], "count": n}
            for pid, n in sorted(counts.items(), key=lambda item: (-item[1], names[item[0]][0]))]


def _short(text: str, width: int = 160) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[:width - 1] + "…"


def render(config: Config, digest: Digest, language: str = "") -> outbound.Rendered:
    """The digest as mail for readers of `language` (default: [web] language, the team's own)."""
    context = {"digest": digest, "support": outbound.TemplateSupport(address=config.support.addresses[0],
                                                                     name=config.support.name),
               "now": dt.datetime.now(dt.timezone.utc)}
    return outbound.render(config, TEMPLATE, context, wanted=language or config.web.language)


def recipients(config: Config) -> list[str]:
    return [address for addresses in recipients_by_language(config).values() for address in addresses]


def recipients_by_language(config: Config) -> dict[str, list[str]]:
    """Who gets the digest, by the language they read: a reviewer's or admin's account's own
    language, else [web] language (the addresses of digest_to have no account to say)."""
    people = User.select().where(User.role.in_(("reviewer", "admin")) & User.active & (User.email != ""))
    readers: dict[str, str] = dict.fromkeys(config.patrol.digest_to, config.web.language)
    for user in people:
        # getattr: User.language comes with the console's own language setting.
        readers.setdefault(user.email, getattr(user, "language", "") or config.web.language)
    grouped: dict[str, list[str]] = {}
    for address, language in readers.items():
        grouped.setdefault(language, []).append(address)
    return grouped


def send(config: Config, since: dt.datetime, until: dt.datetime) -> list[Outgoing]:
    """Queue the digest of [since, until) to the reviewers, one mail per language they read; none
    when nobody can receive it or this period's digest was queued before."""
    readers = recipients_by_language(config)
    if not readers:
        log.warning("no patrol digest sent: no reviewer or admin has an e-mail address, and "
                    "[patrol] digest_to is empty")
        return []
    digest = build(since, until)
    # One digest per period and language: its Message-ID names both, and a mail is its Message-ID.
    domain = config.support.addresses[0].rpartition("@")[2] or "localhost"
    period_id = f"patrol-digest.{since:%Y%m%d%H%M}.{until:%Y%m%d%H%M}"
    rows = []
    with database.atomic():
        if Outgoing.select().where(Outgoing.message_id.startswith(f"<{period_id}")).exists():
            log.info("the patrol digest %s was queued before; not again", digest.period)
            return []
        for language, to in readers.items():
            rendered = render(config, digest, language)
            message = outbound.compose_notice(config, to, rendered.subject, rendered.text)
            if rendered.html is not None:
                message.add_alternative(rendered.html, subtype="html")
            message.replace_header("Message-ID", f"<{period_id}.{language}@{domain}>")
            message["Auto-Submitted"] = "auto-generated"
            message["Content-Language"] = rendered.language or language
            row = outbound.queue(config, message, "digest")
            Outgoing.update(template=TEMPLATE, language=rendered.language).where(Outgoing.id == row.id).execute()
            row.template, row.language = TEMPLATE, rendered.language
            rows.append(row)
            log.info("queued the patrol digest %s in %s to %s", digest.period, rendered.language, ", ".join(to))
    return rows


def send_scheduled(config: Config, at: dt.datetime | None = None) -> None:
    """The scheduler's job: the digest of the last digest_days, up to the start of the day (UTC)
    of `at`, the time it was scheduled for (now if not given)."""
    until = (at or utcnow()).replace(hour=0, minute=0, second=0, microsecond=0)
    since = until - dt.timedelta(days=config.patrol.digest_days)
    try:
        send(config, since, until)
    except Exception:  # noqa: BLE001 - a failed digest must not take the scheduler with it
        log.exception("the patrol digest could not be written")
    finally:
        database.close()


def as_dict(digest: Digest) -> dict:
    return json.loads(json.dumps({
        "since": digest.since.isoformat() + "Z", "until": digest.until.isoformat() + "Z", "total": digest.total,
        "previous_total": digest.previous_total, "unreviewed": digest.unreviewed,
        "groups": [{"outcome_kind": g.outcome_kind, "count": g.count, "previous": g.previous,
                    "reports": [r.__dict__ for r in g.reports]} for g in digest.groups],
        "follow_ups": digest.follow_ups, "policies": digest.policies, "log_head": digest.log_head,
        "quality": digest.quality},
        ensure_ascii=False))
