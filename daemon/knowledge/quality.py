"""The Article Quality Index (KCS AQI): each week a sample of every agent's new and changed articles,
scored by reviewers on the KCS checklist.

Drawing: a week runs Monday to Sunday, UTC. A variant whose text a person changed that week
(drafted, edited, a removal put back) is that person's work of the week, at the revision they left it
at; a change of state (validate, publish, ...) changes no text and is nobody's writing. Up to `size`
of each person's are drawn at random, seeded by the week and the person, so drawing a week again
draws the same ones and adds none twice. Each goes to the reviewer (or admin) with the fewest samples
waiting, never to its author; with no such person it waits for any reviewer.

Scoring: each item of the checklist is answered yes or no ("links valid" also "no links"); a
sample's score is the weighted share of yes among the items that apply, in percent. An agent's
index for a week is the mean of their scored samples; the team's, the mean of every scored sample.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from daemon.errors import NotFound, PatroldeskError
from daemon.knowledge.articles import LIVE_STATES, REVIEWER_ROLES, NotAllowed
from daemon.knowledge.capture import clean_subject, ranked_matches, variant_text
from daemon.knowledge.redact import PLACEHOLDER_RE
from daemon.knowledge.voice import reads_as_diary
from daemon.languages import N_
from daemon.store.db import database
from daemon.store.models import (
    Article, ArticleFlag, ArticleRevision, QualitySample, Ticket, User, utcnow,
)


@dataclass(frozen=True)
class Item:
    """One question of the KCS checklist, and how much a no costs."""
    name: str
    weight: int
    label: str
    question: str
    may_not_apply: bool = False


CHECKLIST = (
    Item("unique", 3, N_("Unique"), N_("No other article covers this problem.")),
    Item("complete", 2, N_("Complete"), N_("Issue, environment and resolution are all there, and the cause "
                                            "when it is known.")),
    Item("clear", 2, N_("Content clear"), N_("Short, in the customer's words, steps a customer can follow.")),
    Item("title", 1, N_("Title reflects the problem"), N_("The title says the problem as a customer meets it.")),
    Item("environment", 1, N_("Environment given"), N_("Products, versions and setting where it happens.")),
    Item("resolution", 3, N_("Resolution correct"), N_("The steps solve the problem the issue states.")),
    Item("metadata", 1, N_("Metadata right"), N_("State, language and keywords fit the article.")),
    Item("links", 1, N_("Links valid"), N_("Every link and article it points to works and fits."),
         may_not_apply=True),
)
ITEMS = {item.name: item for item in CHECKLIST}
ANSWERS = ("yes", "no", "none")  # none: the item does not apply (only where it may not)
DEFAULT_SIZE = 5
log = logging.getLogger("patroldesk.quality")


class ScoreRefused(PatroldeskError):
    """A score that cannot be saved; `problems` maps each checklist item (or "sample") to what is wrong."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("the score is refused: " + "; ".join(f"{key}: {why}" for key, why in problems.items()))


def week_of(moment: dt.date | dt.datetime) -> dt.date:
    """The Monday of the week `moment` falls in."""
    day = moment.date() if isinstance(moment, dt.datetime) else moment
    return day - dt.timedelta(days=day.weekday())


def last_week(now: dt.datetime | None = None) -> dt.date:
    """The Monday of the last whole week before `now`."""
    return week_of(now or utcnow()) - dt.timedelta(weeks=1)


# Drawing -------------------------------------------------------------------------------

def draw(week: dt.date, size: int = DEFAULT_SIZE, now: dt.datetime | None = None) -> list[QualitySample]:
    """Draw up to `size` samples of each person's work of `week` (see the module's docstring); returns
    the samples this call added. Drawing again adds only what a larger `size`, or later work, allows."""
    week = week_of(week)
    work = work_of_week(week)
    added = []
    with database.atomic():
        have = defaultdict(set)
        for sample in QualitySample.select(QualitySample.author, QualitySample.article, QualitySample.language) \
                .where(QualitySample.week == week):
            have[sample.author_id].add((sample.article_id, sample.language))
        reviewers = list(User.select().where(User.role.in_(REVIEWER_ROLES) & User.active).order_by(User.id))
        waiting = Counter(s.reviewer_id for s in QualitySample.select(QualitySample.reviewer).where(
            QualitySample.scored_at.is_null() & QualitySample.reviewer.is_null(False)))
        for author_id in sorted(work):
            pool = sorted(set(work[author_id]) - have[author_id])
            random.Random(f"{week.isoformat()}:{author_id}").shuffle(pool)
            for article_id, language in pool[:max(0, size - len(have[author_id]))]:
                reviewer = _reviewer_for(reviewers, author_id, waiting)
                inserted = QualitySample.insert(
                    week=week, author=author_id, article=article_id, language=language,
                    revision=work[author_id][(article_id, language)], reviewer=reviewer,
                    drawn_at=now or utcnow()).on_conflict_ignore().as_rowcount().execute()
                if inserted:
                    added.append((author_id, article_id, language))
    return [QualitySample.get((QualitySample.week == week) & (QualitySample.author == a)
                              & (QualitySample.article == b) & (QualitySample.language == c)) for a, b, c in added]


def draw_scheduled(size: int, at: dt.datetime | None = None) -> list[QualitySample]:
    """The scheduler's job: draw the sample of the last whole week before `at` (its scheduled time)."""
    week = last_week(at)
    drawn = draw(week, size)
    log.info("drew %d articles of the week of %s for the quality index", len(drawn), week.isoformat())
    return drawn


def work_of_week(week: dt.date) -> dict[int, dict[tuple[int, str], int]]:
    """Per person, the variants whose text they changed in `week` ((article, language) -> the revision
    they left it at), of articles not archived."""
    start = dt.datetime.combine(week_of(week), dt.time())
    end = start + dt.timedelta(weeks=1)
    touched = {r.article_id for r in ArticleRevision.select(ArticleRevision.article).where(
        (ArticleRevision.created_at >= start) & (ArticleRevision.created_at < end)
        & ArticleRevision.author.is_null(False))}
    live = {a.id for a in Article.select(Article.id).where(Article.id.in_(list(touched))
                                                          & Article.state.in_(LIVE_STATES))}
    work: dict[int, dict[tuple[int, str], int]] = defaultdict(dict)
    before: dict[tuple[int, str], tuple] = {}
    for rev in ArticleRevision.select().where(ArticleRevision.article.in_(list(live))).order_by(
            ArticleRevision.article, ArticleRevision.number):
        key = (rev.article_id, rev.language)
        text = (rev.title, rev.issue, rev.environment, rev.resolution, rev.cause, rev.keywords)
        changed, before[key] = before.get(key) != text, text
        if changed and rev.author_id and start <= rev.created_at < end:
            work[rev.author_id][key] = rev.number
    return dict(work)


def _reviewer_for(reviewers: list[User], author_id: int, waiting: Counter) -> int | None:
    """The reviewer with the fewest samples waiting who is not the author (None: nobody but them)."""
    others = [r for r in reviewers if r.id != author_id]
    if not others:
        return None
    chosen = min(others, key=lambda r: (waiting[r.id], r.id))
    waiting[chosen.id] += 1
    return chosen.id


# Scoring -------------------------------------------------------------------------------

def get_sample(sample_id: int) -> QualitySample:
    found = QualitySample.get_or_none(QualitySample.id == sample_id)
    if found is None:
        raise NotFound(N_("no quality sample %(id)s", id=sample_id))
    return found


def score(sample: QualitySample, user: User, answers: dict[str, str], note: str = "") -> QualitySample:
    """Score `sample` with the checklist's answers (item -> yes, no, or none where the item may not
    apply). A reviewer or admin scores, never the author; scoring again replaces the earlier score."""
    if user.role not in REVIEWER_ROLES:
        raise NotAllowed(N_("only a reviewer or an admin scores article quality"))
    if sample.author_id == user.id:
        raise ScoreRefused({"sample": N_("nobody scores their own article")})
    problems = {}
    for item in CHECKLIST:
        given = (answers.get(item.name) or "").strip().lower()
        if given not in ANSWERS or (given == "none" and not item.may_not_apply):
            problems[item.name] = N_("answer yes or no") if not item.may_not_apply else \
                N_("answer yes, no, or that it has no links")
    if problems:
        raise ScoreRefused(problems)
    checks = {item.name: _answer(answers[item.name]) for item in CHECKLIST}
    sample.checks = json.dumps(checks)
    sample.score = score_of(checks)
    sample.scored_at, sample.scored_by, sample.note = utcnow(), user.id, (note or "").strip()[:5000]
    sample.save()
    return sample


def _answer(given: str) -> bool | None:
    return {"yes": True, "no": False}.get(given.strip().lower())


def score_of(checks: dict[str, bool | None]) -> float:
    """The weighted share, in percent, of the items answered yes among those that apply."""
    applying = [ITEMS[name].weight for name, passed in checks.items() if passed is not None and name in ITEMS]
    passed = [ITEMS[name].weight for name, ok in checks.items() if ok and name in ITEMS]
    return round(100 * sum(passed) / sum(applying), 1) if applying else 100.0


def waiting_for(user: User, limit: int = 100) -> list[QualitySample]:
    """The samples `user` may score that wait for a score: given to them first, then to nobody, then to
    other reviewers; never their own work. Oldest week first."""
    query = (QualitySample.select().where(QualitySample.scored_at.is_null()
                                          & ((QualitySample.author != user.id) | QualitySample.author.is_null()))
             .order_by(QualitySample.week, QualitySample.id))
    found = list(query)
    found.sort(key=lambda s: (0 if s.reviewer_id == user.id else 1 if s.reviewer_id is None else 2))
    return found[:limit]


def samples_of(week: dt.date) -> list[QualitySample]:
    return list(QualitySample.select().where(QualitySample.week == week_of(week)).order_by(QualitySample.id))


def sampled_text(sample: QualitySample) -> ArticleRevision | None:
    """The variant as its author left it that week (the revision drawn), whatever was changed since."""
    return ArticleRevision.get_or_none((ArticleRevision.article == sample.article_id)
                                       & (ArticleRevision.number == sample.revision))


def checks_of(sample: QualitySample) -> dict[str, bool | None]:
    return json.loads(sample.checks or "{}")


# What a reviewer may want to look at ------------------------------------------------------

_LINKED_ARTICLE = re.compile(r"/kb/([0-9]+)\b")
_WEB_ADDRESS = re.compile(r"\bhttps?://[^\s<>\"')\]]+", re.I)


def hints(sample: QualitySample) -> dict[str, list]:
    """Per checklist item, what the text shows that bears on it (messages to be said in the reader's
    language); the reviewer decides."""
    text = sampled_text(sample)
    if text is None:
        return {}
    found: dict[str, list] = {item.name: [] for item in CHECKLIST}
    found["unique"] = _alike(sample, text)
    empty = [name for name in ("issue", "environment", "resolution") if not getattr(text, name).strip()]
    if empty:
        found["complete"].append(N_("empty: %(fields)s", fields=", ".join(empty)))
    if reads_as_diary(text.resolution, text.language):
        found["clear"].append(N_("the resolution reads as the agent's diary (first person, past tense)"))
    if PLACEHOLDER_RE.search(text.resolution):
        found["clear"].append(N_("the resolution still holds placeholders of removed details"))
    ticket = Ticket.get_or_none(Ticket.id == Article.get_by_id(sample.article_id).source_ticket_id)
    if ticket is not None and text.title.strip().casefold() == clean_subject(ticket.subject).casefold():
        found["title"].append(N_("the title is the first mail's subject, word for word"))
    if not text.environment.strip():
        found["environment"].append(N_("no environment given"))
    found["resolution"] = _doubts(sample)
    keywords = json.loads(text.keywords or "[]")
    if not keywords:
        found["metadata"].append(N_("no keywords"))
    found["links"] = _links(text)
    return {name: messages for name, messages in found.items() if messages}


def _alike(sample: QualitySample, text: ArticleRevision) -> list:
    for other, alike in ranked_matches(variant_text(text), LIVE_STATES, limit=2):
        if other.id != sample.article_id:
            return [N_("most alike: article %(id)s (%(title)s), %(percent)s%% alike", id=other.id,
                       title=other.title, percent=round(alike * 100))]
    return [N_("no other article shares its words")]


def _doubts(sample: QualitySample) -> list:
    article = Article.get_by_id(sample.article_id)
    found = []
    if article.reopen_count:
        found.append(N_("tickets came back after closing with it: %(count)s", count=article.reopen_count))
    open_kinds = sorted({f.kind for f in ArticleFlag.select(ArticleFlag.kind).where(
        (ArticleFlag.article == article.id) & ArticleFlag.cleared_at.is_null())})
    if open_kinds:
        found.append(N_("open flags: %(kinds)s", kinds=", ".join(open_kinds)))
    return found


def _links(text: ArticleRevision) -> list:
    body = "\n".join((text.issue, text.environment, text.resolution, text.cause))
    found = []
    linked = sorted({int(n) for n in _LINKED_ARTICLE.findall(body)})
    if linked:
        states = dict(Article.select(Article.id, Article.state).where(Article.id.in_(linked)).tuples())
        for number in linked:
            if states.get(number) in (None, "archived"):
                found.append(N_("points to article %(id)s, which is gone or archived", id=number))
    addresses = len(set(_WEB_ADDRESS.findall(body)))
    if addresses:
        found.append(N_("web addresses to open and check: %(count)s", count=addresses))
    if not linked and not addresses:
        found.append(N_("no links"))
    return found


# Figures ---------------------------------------------------------------------------------

@dataclass
class Quality:
    """Scored samples and their mean score (None: nothing scored)."""
    sampled: int = 0
    scored: int = 0
    total: float = 0.0

    @property
    def index(self) -> float | None:
        return round(self.total / self.scored, 1) if self.scored else None


@dataclass
class WeekQuality:
    week: dt.date
    team: Quality = field(default_factory=Quality)
    agents: dict[str, Quality] = field(default_factory=dict)
    failed: Counter = field(default_factory=Counter)  # checklist item -> samples answered no


def weekly(first: dt.date, last: dt.date) -> list[WeekQuality]:
    """The index per agent and for the team, for each week from the week of `first` to that of `last`."""
    first, last = week_of(first), week_of(last)
    weeks = {first + dt.timedelta(weeks=n): WeekQuality(first + dt.timedelta(weeks=n))
             for n in range((last - first).days // 7 + 1)}
    names = dict(User.select(User.id, User.username).tuples())
    for sample in QualitySample.select().where((QualitySample.week >= first) & (QualitySample.week <= last)):
        week = weeks[week_of(sample.week)]
        mine = week.agents.setdefault(names.get(sample.author_id, "-"), Quality())
        for counted in (week.team, mine):
            counted.sampled += 1
            if sample.score is not None:
                counted.scored += 1
                counted.total += sample.score
        week.failed.update(name for name, ok in checks_of(sample).items() if ok is False)
    for week in weeks.values():
        week.agents = dict(sorted(week.agents.items()))
    return [weeks[key] for key in sorted(weeks)]


def waiting_count() -> int:
    return QualitySample.select().where(QualitySample.scored_at.is_null()).count()
