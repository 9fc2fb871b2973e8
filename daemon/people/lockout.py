"""Sign-in throttling: at most `limit` password checks under a key between blocks, each block twice the last.

A key is what an attempt is counted against: the account name tried and the
client's address for a browser that never signed in as that name, the browser
itself for one that did, or an account's current-password check. So a stranger
who guesses at a name is slowed down, without the real user's own browser
being locked out with them.

An attempt is reserved before the password is checked, in one UPDATE per key,
so a burst of parallel guesses cannot all slip in before the first failure is
counted; the reservation that goes over the limit blocks the key at once.
Failures are forgotten after `minutes` without any; strikes (the blocks that
double) after STRIKES_FORGOTTEN. Unknown names are counted alike, so the page
never tells which names exist.
"""
from __future__ import annotations

import datetime as dt

from peewee import Case

from daemon.store.db import database
from daemon.store.models import SignInThrottle

LONGEST_BLOCK = dt.timedelta(days=1)
STRIKES_FORGOTTEN = dt.timedelta(days=2)  # more than the longest block, so blocks keep growing to it

Keys = list[tuple[str, int]]  # (key, limit) pairs, always in the same order (rows are locked in it)


def name_key(name: str) -> str:
    return f"name:{name.casefold()[:100]}"


def address_key(address: str) -> str:
    return f"address:{address[:64]}"


def browser_key(browser: str) -> str:
    return f"browser:{browser[:64]}"


def password_key(user_id: int) -> str:
    return f"current-password:{user_id}"


def reserve(keys: Keys, now: dt.datetime, minutes: int) -> dt.datetime | None:
    """Take an attempt under every key; returns when the block ends if one is blocked (nothing is taken then).

    The UPDATE holds its row until the transaction ends (SQLite's writer lock,
    PostgreSQL's row lock), so the count read after it is this attempt's own.
    """
    names = [key for key, _ in keys]
    with database.atomic() as transaction:
        blocked = _blocked_until(names, now)
        if blocked:
            return blocked
        for key in names:
            if not _take(key, now, minutes):  # a parallel attempt blocked it since: take nothing
                transaction.rollback()
                return _blocked_until(names, now)
        over = [key for key, limit in keys if _row(key).failures > limit]
        return max(_block(key, now, minutes) for key in over) if over else None


def failed(keys: Keys, now: dt.datetime, minutes: int) -> dt.datetime | None:
    """The reserved attempt failed: block each key whose limit it used up; returns when the longest block ends."""
    ends = [_block(key, now, minutes) for key, limit in keys if _row(key).failures >= limit]
    # Keys nobody tried for long are of no more use: a sprayer of made-up names must not grow the table forever.
    SignInThrottle.delete().where((SignInThrottle.last_at < now - STRIKES_FORGOTTEN) & _unblocked(now)).execute()
    return max(ends) if ends else None


def succeeded(keys: list[str]) -> None:
    """The right password: its failures are forgotten, not its strikes (a guesser's blocks keep growing)."""
    SignInThrottle.update(failures=0).where(SignInThrottle.key.in_(keys)).execute()


def blocked_until(key: str) -> dt.datetime | None:
    row = SignInThrottle.get_or_none(SignInThrottle.key == key)
    return row.blocked_until if row else None


def _blocked_until(keys: list[str], now: dt.datetime) -> dt.datetime | None:
    ends = [row.blocked_until for row in SignInThrottle.select().where(SignInThrottle.key.in_(keys))
            if row.blocked_until and row.blocked_until > now]
    return max(ends) if ends else None


def _take(key: str, now: dt.datetime, minutes: int) -> bool:
    """Count one attempt under `key`, unless it is blocked; whether it was counted."""
    quiet, forgotten = now - dt.timedelta(minutes=minutes), now - STRIKES_FORGOTTEN
    SignInThrottle.insert(key=key, failures=0, strikes=0, last_at=now).on_conflict_ignore().execute()
    return bool(SignInThrottle.update(
        failures=Case(None, [(SignInThrottle.last_at < quiet, 1)], SignInThrottle.failures + 1),
        strikes=Case(None, [(SignInThrottle.last_at < forgotten, 0)], SignInThrottle.strikes),
        last_at=now).where((SignInThrottle.key == key) & _unblocked(now)).execute())


def _unblocked(now: dt.datetime):
    return SignInThrottle.blocked_until.is_null() | (SignInThrottle.blocked_until <= now)


def _row(key: str) -> SignInThrottle:
    return SignInThrottle.get(SignInThrottle.key == key)


def _block(key: str, now: dt.datetime, minutes: int) -> dt.datetime:
    """Block the key for `minutes` doubled by each earlier strike, at most LONGEST_BLOCK."""
    strikes = _row(key).strikes
    until = now + min(dt.timedelta(minutes=minutes) * 2 ** min(strikes, 20), LONGEST_BLOCK)
    SignInThrottle.update(failures=0, strikes=strikes + 1, blocked_until=until).where(
        SignInThrottle.key == key).execute()
    return until
