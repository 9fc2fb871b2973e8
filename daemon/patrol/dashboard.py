"""The dashboard's figures: tickets opened and closed, outcomes, response and close times, knowledge use.

What counts as closed: a ticket is closed on the day its closing SBO note
was written (a `patrol_report` of kind 'closing' that corrects no other).
patrol.close is the one way any front door solves or closes a ticket and
it always writes that note, so the figures agree with the patrol log a
reviewer reads. The note carries the close's own date (history brought
over from another system keeps its dates) and its outcome kind as a
column; the trail's 'solved'/'closed' events are dated when the row was
written and keep the outcome kind inside JSON text. A ticket
that comes back and is closed again is closed twice: both closes count.
A corrected note keeps its close's date and shows its newest outcome kind.

How it stays fast on 100,000 tickets: every count is grouped in SQL, by
UTC day or by week (starting Monday) — `substr`/`date` on SQLite,
`to_char`/`date_trunc` on PostgreSQL — over indexed `created_at` columns.
Medians and 90th percentiles have no portable SQL aggregate (SQLite has
none), so those queries fetch one computed number per ticket of the period
(its hours, and the week it belongs to) and the percentiles are taken here.
With 100,000 tickets in a year's period each figure takes a few hundred
milliseconds at most, on either database. Times are naive UTC throughout.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass

from daemon import knowledge as kb
from daemon.errors import PatroldeskError
from daemon.languages import N_
from daemon.store.db import execute, is_sqlite
from daemon.store.models import OUTCOME_KINDS, utcnow

DEFAULT_DAYS = 30
SHORTEST, LONGEST = 7, 365
_WHOLE_DAYS = re.compile(r"[0-9]{1,6}")  # ASCII digits only: "²" is a digit to str.isdigit, not to int()
_CREATED_AT, _FIRST_RESPONSE_AT = '"created_at"', '"first_response_at"'


class PeriodRefused(PatroldeskError):
    """A number of days the dashboard cannot show."""


@dataclass(frozen=True)
class Period:
    """The last `days` UTC days, today included."""
    days: int
    first_day: dt.date
    last_day: dt.date

    @property
    def since(self) -> str:
        """The period's first moment, as both databases compare it with a stored timestamp."""
        return f"{self.first_day.isoformat()} 00:00:00"

    def day_keys(self) -> list[str]:
        return [(self.first_day + dt.timedelta(days=n)).isoformat() for n in range(self.days)]

    def week_keys(self) -> list[str]:
        """The Mondays of the weeks the period touches (the first one only in part)."""
        monday, last = week_of(self.first_day), week_of(self.last_day)
        return [(monday + dt.timedelta(weeks=n)).isoformat() for n in range((last - monday).days // 7 + 1)]


def week_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def period(days: int = DEFAULT_DAYS, now: dt.datetime | None = None) -> Period:
    if not SHORTEST <= days <= LONGEST:
        raise PeriodRefused(N_("a period is %(shortest)s to %(longest)s days, not %(days)s", shortest=SHORTEST,
                               longest=LONGEST, days=days))
    today = (now or utcnow()).date()
    return Period(days, today - dt.timedelta(days=days - 1), today)


def period_of(typed: str | None, now: dt.datetime | None = None) -> Period:
    """The period a person typed (a number of days); none typed is the default."""
    text = (typed or "").strip()
    if not text:
        return period(DEFAULT_DAYS, now)
    if not _WHOLE_DAYS.fullmatch(text):
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise PeriodRefused(N_("a period is a whole number of days, %(shortest)s to %(longest)s, not %(typed)r",
                               shortest=SHORTEST, longest=LONGEST, typed=shown))
    return period(int(text), now)


# SQL that reads the same figure on both databases ---------------------------------------

def _day(column: str) -> str:
    return f"substr({column}, 1, 10)" if is_sqlite() else f"to_char({column}, 'YYYY-MM-DD')"


def _week(column: str) -> str:
    """The Monday of the column's week, as YYYY-MM-DD."""
    if is_sqlite():
        return f"date({column}, 'weekday 0', '-6 days')"
    return f"to_char(date_trunc('week', {column}), 'YYYY-MM-DD')"


def _hours(later: str, earlier: str) -> str:
    if is_sqlite():
        return f"(julianday({later}) - julianday({earlier})) * 24"
    return f"EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600"


def _closes(report: str) -> str:
    """The condition for a note that closed a ticket: a closing report that corrects no other."""
    return f'{report}."kind" = \'closing\' AND {report}."corrects_id" IS NULL'


def _counts(sql: str, params: tuple) -> dict[str, int]:
    """{bucket: count} from a query that selects a bucket and a count."""
    return {bucket: int(count) for bucket, count in execute(sql, params).fetchall()}


# Opened and closed per day ------------------------------------------------------------

@dataclass(frozen=True)
class Day:
    day: str
    opened: int
    closed: int


def volume(span: Period) -> list[Day]:
    """Tickets opened and closed on each day of the period, days without any included."""
    opened = _counts(f'SELECT {_day(_CREATED_AT)}, COUNT(*) FROM "ticket" '
                     'WHERE "created_at" >= ? GROUP BY 1', (span.since,))
    closed = _counts(f'SELECT {_day("r.created_at")}, COUNT(*) FROM "patrol_report" r '
                     f'WHERE {_closes("r")} AND r."created_at" >= ? GROUP BY 1', (span.since,))
    return [Day(day, opened.get(day, 0), closed.get(day, 0)) for day in span.day_keys()]


# Outcome kinds per week ---------------------------------------------------------------

@dataclass(frozen=True)
class WeekOutcomes:
    week: str
    counts: dict[str, int]  # every outcome kind, 0 when none


def outcomes(span: Period) -> list[WeekOutcomes]:
    """Closes per week by outcome kind; a corrected note counts with its newest kind, in its close's week.

    Corrections are few, so the recursive part starts from them: from each
    newest revision it climbs `corrects_id` to the close it revises (a chain
    is a line: patrol.correct revises only the newest revision), and the
    closes of the period take the kind found at the top of their chain.
    Started from the closes instead, PostgreSQL expects every close to have
    a long chain and spends more time compiling the query than running it.
    """
    rows = execute(
        'WITH RECURSIVE "chain"("newest_kind", "parent_id", "id") AS ('
        ' SELECT n."outcome_kind", n."corrects_id", n."id" FROM "patrol_report" n'
        ' WHERE n."corrects_id" IS NOT NULL AND n."kind" = \'closing\''
        ' AND NOT EXISTS (SELECT 1 FROM "patrol_report" x WHERE x."corrects_id" = n."id")'
        ' UNION ALL SELECT "chain"."newest_kind", p."corrects_id", p."id" FROM "patrol_report" p'
        ' JOIN "chain" ON p."id" = "chain"."parent_id")'
        f' SELECT {_week("r.created_at")}, COALESCE("chain"."newest_kind", r."outcome_kind"), COUNT(*)'
        ' FROM "patrol_report" r LEFT JOIN "chain" ON "chain"."id" = r."id" AND "chain"."parent_id" IS NULL'
        f' WHERE {_closes("r")} AND r."created_at" >= ? GROUP BY 1, 2',
        (span.since,)).fetchall()
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for week, kind, count in rows:
        found[week][kind] = int(count)
    kinds = outcome_kinds_in(found.values())
    return [WeekOutcomes(week, {kind: found[week].get(kind, 0) for kind in kinds}) for week in span.week_keys()]


def outcome_kinds_in(weeks) -> list[str]:
    """The known outcome kinds in their order, then any other a database holds (none is dropped)."""
    others = sorted({kind for counts in weeks for kind in counts} - set(OUTCOME_KINDS))
    return [*OUTCOME_KINDS, *others]


# Time to first response and to close ---------------------------------------------------

@dataclass(frozen=True)
class WeekTimes:
    week: str
    count: int  # tickets measured (answered; closed)
    median: float | None  # hours
    p90: float | None
    waiting: int = 0  # first response: opened that week and not answered yet


def first_response(span: Period) -> list[WeekTimes]:
    """Hours from opening to a person's first reply, by the week the ticket was opened.

    A ticket not answered yet (first_response_at NULL) is not in the median; it is counted in `waiting`.
    """
    rows = execute(f'SELECT {_week(_CREATED_AT)}, '
                   f'{_hours(_FIRST_RESPONSE_AT, _CREATED_AT)} '
                   'FROM "ticket" WHERE "created_at" >= ?', (span.since,)).fetchall()
    return _weekly_times(span, rows)


def time_to_close(span: Period) -> list[WeekTimes]:
    """Hours from opening to the ticket's first close, by the week of that close.

    Only the first close: the wait the customer had before hearing it was
    solved. A later close of a reopened ticket would measure the reopening.
    """
    rows = execute(
        f'SELECT {_week("r.created_at")}, {_hours("r.created_at", "t.created_at")} '
        'FROM "patrol_report" r JOIN "ticket" t ON t."id" = r."ticket_id" '
        f'WHERE {_closes("r")} AND r."created_at" >= ? '
        'AND NOT EXISTS (SELECT 1 FROM "patrol_report" e WHERE e."ticket_id" = r."ticket_id" '
        f'AND {_closes("e")} AND e."created_at" < r."created_at")',
        (span.since,)).fetchall()
    return _weekly_times(span, rows)


def _weekly_times(span: Period, rows) -> list[WeekTimes]:
    hours: dict[str, list[float]] = defaultdict(list)
    waiting: dict[str, int] = defaultdict(int)
    for week, value in rows:
        if value is None:
            waiting[week] += 1
        else:
            hours[week].append(float(value))
    weeks = []
    for week in span.week_keys():
        values = sorted(hours.get(week, ()))
        weeks.append(WeekTimes(week, len(values), percentile(values, 0.5), percentile(values, 0.9),
                               waiting.get(week, 0)))
    return weeks


def percentile(ordered: list[float], fraction: float) -> float | None:
    """Linear between the closest ranks (as PostgreSQL's percentile_cont), in hours to 0.01."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 2)


# Knowledge: link rate, reuse against create -----------------------------------------------

@dataclass(frozen=True)
class WeekKnowledge:
    week: str
    closed: int  # tickets closed that week
    linked: int  # ... of which linked to an article
    reused: int  # links that week to an article the ticket did not create (reused, reply)
    created: int  # links that week to an article the ticket created

    @property
    def link_rate(self) -> float | None:
        return round(self.linked / self.closed, 3) if self.closed else None

    @property
    def known_share(self) -> float | None:
        """New against known: of the week's tickets solved with an article, the share whose article existed."""
        solved = self.reused + self.created
        return round(self.reused / solved, 3) if solved else None


def knowledge(span: Period) -> list[WeekKnowledge]:
    """Per week: closed tickets and how many are linked to an article; reuses and creations of links."""
    closed = execute(
        f'SELECT {_week("r.created_at")}, COUNT(DISTINCT r."ticket_id"), COUNT(DISTINCT l."ticket_id") '
        'FROM "patrol_report" r LEFT JOIN (SELECT DISTINCT "ticket_id" FROM "article_link") l '
        'ON l."ticket_id" = r."ticket_id" '
        f'WHERE {_closes("r")} AND r."created_at" >= ? GROUP BY 1',
        (span.since,)).fetchall()
    links = execute(
        f'SELECT {_week(_CREATED_AT)}, '
        'SUM(CASE WHEN "kind" IN (\'reused\', \'reply\') THEN 1 ELSE 0 END), '
        'SUM(CASE WHEN "kind" = \'created\' THEN 1 ELSE 0 END) '
        'FROM "article_link" WHERE "created_at" >= ? GROUP BY 1', (span.since,)).fetchall()
    closes = {week: (int(count), int(linked)) for week, count, linked in closed}
    uses = {week: (int(reused), int(created)) for week, reused, created in links}
    return [WeekKnowledge(week, *closes.get(week, (0, 0)), *uses.get(week, (0, 0))) for week in span.week_keys()]


def new_problems_table(span: Period) -> list[list]:
    """The problems first met in the period (the articles drafted from a ticket then, oldest first, with
    how many tickets came to them since), as a header row and rows: for product teams' spreadsheets."""
    found = kb.new_problems(since=dt.datetime.combine(span.first_day, dt.time()))
    return [list(kb.NEW_PROBLEM_COLUMNS), *kb.new_problem_rows(found)]


def gaps(span: Period, limit: int = 10) -> list[kb.Gap]:
    """The period's searches that keep finding nothing anyone used (knowledge.gaps), most frequent first."""
    return kb.gaps(since=dt.datetime.combine(span.first_day, dt.time()), limit=limit)


def article_quality(span: Period) -> list[kb.quality.WeekQuality]:
    """The Article Quality Index of each week the period touches: per agent and for the team (a sample is
    counted in the week its work was done, whenever it was scored)."""
    return kb.quality.weekly(span.first_day, span.last_day)


@dataclass(frozen=True)
class WeekAnswers:
    """Help-center readers' answers to "Did this solve it?" in one week."""
    week: str
    yes: int
    no: int

    @property
    def success_rate(self) -> float | None:
        return round(self.yes / (self.yes + self.no), 3) if self.yes + self.no else None


def self_service(span: Period) -> list[WeekAnswers]:
    """Per week of the period: how many help-center readers said an article solved it, and how many not."""
    rows = execute(f'SELECT {_week(_CREATED_AT)}, SUM(CASE WHEN "helpful" THEN 1 ELSE 0 END), COUNT(*) '
                   'FROM "article_feedback" WHERE "created_at" >= ? GROUP BY 1', (span.since,)).fetchall()
    found = {week: (int(yes or 0), int(count) - int(yes or 0)) for week, yes, count in rows}
    return [WeekAnswers(week, *found.get(week, (0, 0))) for week in span.week_keys()]


@dataclass(frozen=True)
class WeekDeadlines:
    """Deadlines warned of and breached in one week (each notice counts in the week it was sent)."""
    week: str
    first_answer_breaches: int
    resolution_breaches: int
    warnings: int


def deadlines(span: Period) -> list[WeekDeadlines]:
    """Per week of the period: breaches of the first-answer and resolution deadlines, and warnings."""
    rows = execute(f'SELECT {_week(_CREATED_AT)}, "deadline", "level", COUNT(*) FROM "deadline_notice" '
                   'WHERE "created_at" >= ? GROUP BY 1, 2, 3', (span.since,)).fetchall()
    found: dict = defaultdict(int)
    for week, deadline, level, count in rows:
        found[(week, "warning" if level == "warning" else deadline)] += int(count)
    return [WeekDeadlines(week, found[(week, "first_answer")], found[(week, "resolution")], found[(week, "warning")])
            for week in span.week_keys()]
