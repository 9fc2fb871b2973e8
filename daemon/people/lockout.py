"""Sign-in lock-out: at most `limit` password checks per account name between locks.

An attempt is reserved before the password is checked, in one UPDATE, so a
burst of parallel guesses cannot all slip in before the first failure is
counted; the reservation that goes over the limit locks the name at once.
A success forgets the name's failures; failures older than the lock's
length are forgotten too. Unknown names are counted alike, so the page
never tells which names exist.
"""
from __future__ import annotations

import datetime as dt

from peewee import Case

from daemon.store.db import database
from daemon.store.models import SignInFailure


def reserve(key: str, now: dt.datetime, limit: int, minutes: int) -> dt.datetime | None:
    """Take an attempt for `key`; returns when the lock ends if the name is locked (nothing is taken then).

    The UPDATE holds the row until the transaction ends (SQLite's writer lock,
    PostgreSQL's row lock), so the count read after it is this attempt's own.
    A row deleted by a success between the INSERT and the UPDATE is made again.
    """
    forgotten = now - dt.timedelta(minutes=minutes)
    for _ in range(3):
        with database.atomic():
            SignInFailure.insert(username=key, failures=0, last_at=now).on_conflict_ignore().execute()
            taken = SignInFailure.update(
                failures=Case(None, [(SignInFailure.last_at < forgotten, 1)], SignInFailure.failures + 1),
                last_at=now).where((SignInFailure.username == key) & (
                    SignInFailure.locked_until.is_null() | (SignInFailure.locked_until <= now))).execute()
            row = SignInFailure.get_or_none(SignInFailure.username == key)
            if row is None:
                continue  # a success forgot the name in between: count again from nothing
            if not taken:
                return row.locked_until
            return _lock(key, now, minutes) if row.failures > limit else None
    return None


def failed(key: str, now: dt.datetime, limit: int, minutes: int) -> None:
    """The reserved attempt failed: lock the name when it was the last one allowed."""
    SignInFailure.update(failures=0, locked_until=now + dt.timedelta(minutes=minutes)).where(
        (SignInFailure.username == key) & (SignInFailure.failures >= limit)).execute()


def succeeded(key: str) -> None:
    SignInFailure.delete().where(SignInFailure.username == key).execute()


def _lock(key: str, now: dt.datetime, minutes: int) -> dt.datetime:
    until = now + dt.timedelta(minutes=minutes)
    SignInFailure.update(failures=0, locked_until=until).where(SignInFailure.username == key).execute()
    return until
