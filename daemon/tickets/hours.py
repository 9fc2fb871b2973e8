"""Business hours: when a team works, and deadlines counted only in that time.

Moments in and out are naive UTC, as the store keeps them. Each working day's
opening and closing are wall-clock times in the team's zone, turned into UTC
for that day, so a deadline that crosses a change of daylight-saving time
lands on the same local hour it would on any other day.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

from daemon.config import Config, HoursConfig, clock_minutes, weekdays

_UTC = dt.timezone.utc
# Ten years of days: no deadline a team sets reaches further, and a loop needs a bound.
_MOST_DAYS = 3660


@dataclass(frozen=True)
class BusinessHours:
    zone: zoneinfo.ZoneInfo
    days: frozenset[int]  # Monday is 0
    opens: int  # minutes after local midnight
    closes: int  # up to 1440, the day's end
    holidays: frozenset[dt.date]

    @classmethod
    def of(cls, hours: HoursConfig) -> "BusinessHours":
        return cls(zoneinfo.ZoneInfo(hours.timezone), weekdays(hours.days), clock_minutes(hours.open),
                   clock_minutes(hours.close), frozenset(dt.date.fromisoformat(d[:10]) for d in hours.holidays))

    def works_on(self, day: dt.date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def span(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The day's opening and closing as naive UTC (a day of a DST change is an hour shorter or longer
        only when its hours span the change)."""
        return _span(self, day)

    def _local_day(self, moment: dt.datetime) -> dt.date:
        return moment.replace(tzinfo=_UTC).astimezone(self.zone).date()

    def add(self, start: dt.datetime, minutes: float) -> dt.datetime:
        """The moment `minutes` of working time after `start`."""
        return self.add_each(start, (minutes,))[0]

    def add_each(self, start: dt.datetime, lengths) -> list[dt.datetime]:
        """`add` for several lengths from one start, in one walk over the days (a ticket's deadlines and
        warnings are worked out as it opens, on the ingest path)."""
        wanted = sorted((dt.timedelta(minutes=minutes), place) for place, minutes in enumerate(lengths))
        found: list = [None] * len(wanted)
        spent = dt.timedelta(0)  # working time between start and the current day's opening
        day = self._local_day(start)
        for _ in range(_MOST_DAYS):
            if self.works_on(day):
                opening, closing = self.span(day)
                begin = max(opening, start)
                if begin < closing:
                    while wanted and wanted[0][0] - spent <= closing - begin:
                        length, place = wanted.pop(0)
                        found[place] = begin + (length - spent)
                    if not wanted:
                        return found
                    spent += closing - begin
            day += dt.timedelta(days=1)
        raise ValueError("no working time in ten years: check the days and holidays")

    def between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Minutes of working time from `start` to `end` (negative when `end` comes first)."""
        if end < start:
            return -self.between(end, start)
        total = dt.timedelta(0)
        day, last = self._local_day(start), self._local_day(end)
        while day <= last:
            if self.works_on(day):
                opening, closing = self.span(day)
                begin, finish = max(opening, start), min(closing, end)
                if finish > begin:
                    total += finish - begin
            day += dt.timedelta(days=1)
        return total.total_seconds() / 60

    def local(self, moment: dt.datetime) -> dt.datetime:
        """A naive UTC moment as the team's wall clock reads it."""
        return moment.replace(tzinfo=_UTC).astimezone(self.zone)


@lru_cache(maxsize=4096)
def _span(hours: BusinessHours, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=hours.zone)
    return _utc(midnight + dt.timedelta(minutes=hours.opens)), _utc(midnight + dt.timedelta(minutes=hours.closes))


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(_UTC).replace(tzinfo=None)


def for_team(config: Config, group: str) -> BusinessHours:
    """The hours a ticket of `group` counts in: its team's ([[team]] name = group), else [hours]."""
    chosen = next((team for team in config.team if team.name == (group or "")), config.hours)
    return _hours_of(chosen.timezone, chosen.days, chosen.open, chosen.close, tuple(chosen.holidays))


@lru_cache(maxsize=64)
def _hours_of(zone: str, days: str, opens: str, closes: str, holidays: tuple) -> BusinessHours:
    return BusinessHours.of(HoursConfig(zone, days, opens, closes, list(holidays)))


@dataclass(frozen=True)
class Deadlines:
    respond_by: dt.datetime
    respond_warn_at: dt.datetime
    resolve_by: dt.datetime
    resolve_warn_at: dt.datetime


def deadlines(config: Config, opened: dt.datetime, priority: str, group: str = "") -> Deadlines:
    """The first-answer and resolution deadlines of a ticket opened at `opened`, and when each warns."""
    first, resolution = config.sla.minutes(priority), config.sla.resolution_minutes(priority)
    share = config.sla.warn_percent / 100
    return Deadlines(*for_team(config, group).add_each(opened, (first, first * share, resolution, resolution * share)))
