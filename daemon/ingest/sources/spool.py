"""The inbound spool: raw bytes first, processing later, nothing lost.

Edges call `enqueue` and acknowledge only after it returns (its transaction
has committed). The pipeline `claim`s queued rows under a lease, and each
row ends `done`, `discarded` or `quarantined`; a quarantined row can be
`requeue`d. A row whose lease expired (its worker died) is claimed again,
and one that keeps killing its worker is quarantined after `max_attempts`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

from daemon.mail.msgids import peek_message_id
from daemon.store import cluster
from daemon.store.db import database, execute, insert_fast, insert_if_absent
from daemon.store.models import Inbound, RawMail, utcnow


def enqueue(raw: bytes, origin: str, detail: dict | None = None,
            mail_from: str | None = None) -> Inbound:
    """Store raw bytes and one spool row for this delivery, in one transaction."""
    with database.atomic():
        return store(raw, origin, detail, mail_from)


def store(raw: bytes, origin: str, detail: dict | None = None, mail_from: str | None = None,
          **columns) -> Inbound:
    """`enqueue` without a transaction of its own: for edges that commit more with it
    (the IMAP poller writes a batch and its UID checkpoint together)."""
    digest = hashlib.sha256(raw).hexdigest()
    # Insert-or-ignore: two edges may store the same bytes at once.
    insert_if_absent(RawMail, sha256=digest, data=raw, size=len(raw))
    stored = execute('SELECT "id" FROM "raw_mail" WHERE "sha256" = ?', (digest,)).fetchone()[0]
    columns.setdefault("spooled_id", peek_message_id(raw))  # so a reply can tell its parent is still here
    return insert_fast(Inbound, raw=stored, origin=origin, mail_from=mail_from,
                       origin_detail=json.dumps(detail or {}, ensure_ascii=False), **columns)


def claim(limit: int, lease_seconds: int, now: dt.datetime | None = None) -> list[Inbound]:
    """Lease up to `limit` rows: leases that ran out first, then the queue in order.

    A row's `attempts` counts the workers that died while it was the mail in
    hand: of a batch whose lease ran out, only the lowest row (the one being
    processed when its worker stopped) is charged, not the batch-mates behind it.
    Rows taken over from a dead worker come back with `recovered` set.
    """
    now = now or utcnow()
    stamp = Inbound.lease_until.db_value(now)
    with database.atomic():
        expired = execute('SELECT "id", "lease_until" FROM "inbound" WHERE "state" = ? AND "lease_until" < ? '
                          'ORDER BY "id" LIMIT ?', ("processing", stamp, limit)).fetchall()
        in_hand = [min(i for i, lease in expired if lease == until) for until in {lease for _, lease in expired}]
        # A queued row's lease_until, when set, is a "not before": a reply waiting for its parent.
        queued = execute('SELECT "id" FROM "inbound" WHERE "state" = ? '
                         'AND ("lease_until" IS NULL OR "lease_until" < ?) ORDER BY "id" LIMIT ?',
                         ("queued", stamp, limit - len(expired))).fetchall()
        ids = [i for i, _ in expired] + [i for (i,) in queued]
        if not ids:
            return []
        token = _take(ids, lease_seconds, now)
        if in_hand:
            Inbound.update(attempts=Inbound.attempts + 1).where(
                Inbound.id.in_(in_hand) & (Inbound.claim_token == token)).execute()
        # The raw bytes come along in the same query: the pipeline needs them next.
        # Written by hand: building 50 models through the query builder cost more than the query.
        found = execute(_CLAIMED + f'AND i."id" IN ({", ".join("?" * len(ids))}) ORDER BY i."id"',
                        (token, *ids)).fetchall()
    taken_over = {i for i, _ in expired}
    rows = []
    for (row_id, raw_id, data, origin, detail, mail_from, attempts, reason, received, holder) in found:
        row = Inbound(id=row_id, raw=RawMail(id=raw_id, data=data), origin=origin, origin_detail=detail,
                      mail_from=mail_from, state="processing", attempts=attempts, reason=reason,
                      claim_token=token, claimed_by=holder, received_at=Inbound.received_at.python_value(received))
        row.recovered = row_id in taken_over  # its last worker died while holding it
        row._dirty.clear()
        rows.append(row)
    return rows


_CLAIMED = ('SELECT i."id", i."raw_id", r."data", i."origin", i."origin_detail", i."mail_from", i."attempts", '
            'i."reason", i."received_at", i."claimed_by" FROM "inbound" AS i JOIN "raw_mail" AS r ON r."id" = i."raw_id" '
            'WHERE i."claim_token" = ? ')


def _take(ids: list[int], lease_seconds: int, now: dt.datetime) -> str:
    """Lease those of `ids` that are still free; returns the claim's token."""
    token = secrets.token_hex(16)
    stamp = Inbound.lease_until.db_value(now)
    until = Inbound.lease_until.db_value(now + dt.timedelta(seconds=lease_seconds))
    execute('UPDATE "inbound" SET "state" = ?, "lease_until" = ?, "claim_token" = ?, "claimed_by" = ? '
            f'WHERE "id" IN ({", ".join("?" * len(ids))}) '
            'AND ("state" = ? OR ("state" = ? AND "lease_until" < ?))',
            ("processing", until, token, cluster.process_identity(), *ids, "queued", "processing", stamp))
    return token


def expire_dead_claims(dead_after: float = 10.0, now: dt.datetime | None = None) -> int:
    """End the leases held by processes known to have stopped (on this host by their pid, on
    another by their heartbeat).

    A daemon killed mid-batch leaves its rows leased; waiting out the lease
    would let later mail overtake them (a reply processed before the mail it
    answers). Returns how many rows were freed; they are claimed next, in order.
    """
    now = now or utcnow()
    holders = [row.claimed_by for row in Inbound.select(Inbound.claimed_by).distinct().where(
        (Inbound.state == "processing") & (Inbound.lease_until >= now))]
    dead = cluster.dead_among(holders, dead_after)  # judged by the database's clock
    if not dead:
        return 0
    return Inbound.update(lease_until=now - dt.timedelta(seconds=1)).where(
        (Inbound.state == "processing") & Inbound.claimed_by.in_(dead)).execute()


def claim_one(inbound_id: int, lease_seconds: int) -> Inbound | None:
    """Lease one given queued row (the CLI processes what it just enqueued); None if taken."""
    with database.atomic():
        token = _take([inbound_id], lease_seconds, utcnow())
        return Inbound.select(Inbound, RawMail).join(RawMail).where(
            (Inbound.id == inbound_id) & (Inbound.claim_token == token)).first()


def release(rows: list[Inbound], failure: str | None = None) -> None:
    """Hand leased rows back to the queue; a `failure` counts as an attempt and is kept as the reason."""
    changes = {Inbound.state: "queued", Inbound.lease_until: None}
    if failure is not None:
        changes.update({Inbound.attempts: Inbound.attempts + 1, Inbound.reason: failure[:2000]})
    Inbound.update(changes).where(
        Inbound.id.in_([row.id for row in rows]) & (Inbound.state == "processing")).execute()


def unfinished_parent(row_id: int, parent_ids: tuple[str, ...]) -> int | None:
    """The spool row of a mail among `parent_ids` that came in before row `row_id` and is not
    processed yet (queued, or in another worker's hands), or None."""
    if not parent_ids:
        return None
    found = execute(f'SELECT "id" FROM "inbound" WHERE "spooled_id" IN ({", ".join("?" * len(parent_ids))}) '
                    'AND "id" < ? AND "state" IN (?, ?) ORDER BY "id" LIMIT 1',
                    (*parent_ids, row_id, "queued", "processing")).fetchone()
    return found[0] if found else None


def defer(row: Inbound, seconds: float, now: dt.datetime | None = None) -> None:
    """Hand a claimed row back to the queue, not to be claimed again for `seconds` (no attempt is counted)."""
    not_before = Inbound.lease_until.db_value((now or utcnow()) + dt.timedelta(seconds=seconds))
    execute('UPDATE "inbound" SET "state" = ?, "lease_until" = ? WHERE "id" = ? AND "claim_token" = ? AND "state" = ?',
            ("queued", not_before, row.id, row.claim_token, "processing"))


def waiting() -> int:
    """Queued rows that wait (for a parent) before they may be claimed."""
    return execute('SELECT COUNT(*) FROM "inbound" WHERE "state" = ? AND "lease_until" IS NOT NULL',
                   ("queued",)).fetchone()[0]


class LeaseLost(Exception):
    """Another claimer took the row over after this one's lease ran out."""


def finish(row: Inbound, state: str, outcome: str, reason: str = "",
           message=None, detail: str = "") -> None:
    """Record how a claimed row ended (call inside the mail's transaction).

    Raises LeaseLost, rolling the mail's work back, when the row is no longer
    this claimer's: the one who holds it now decides what becomes of it.
    """
    done = execute('UPDATE "inbound" SET "state" = ?, "outcome" = ?, "reason" = ?, "detail" = ?, '
                   '"message_id" = ?, "lease_until" = NULL, "finished_at" = ? '
                   'WHERE "id" = ? AND "claim_token" = ? AND "state" = ?',
                   (state, outcome, reason, detail, message.id if message is not None else None,
                    Inbound.finished_at.db_value(utcnow()), row.id, row.claim_token, "processing"))
    if done.rowcount == 0:
        raise LeaseLost(f"spool {row.id} was taken over by another worker")


def requeue(inbound_id: int) -> bool:
    """Put a quarantined or discarded row back in the queue; False if it is neither."""
    return bool(Inbound.update(state="queued", outcome=None, reason="", detail="",
                               attempts=0, lease_until=None, finished_at=None).where(
        (Inbound.id == inbound_id) & Inbound.state.in_(("quarantined", "discarded"))
    ).execute())


FINISHED = ("done", "discarded", "quarantined")


def unfiled(mailbox: str, limit: int = 1000) -> list[tuple[int, int, int, str]]:
    """Mails from `mailbox` the pipeline has finished but the poller has not yet moved:
    (spool id, uidvalidity, UID, state), oldest first."""
    return execute('SELECT "id", "uidvalidity", "imap_uid", "state" FROM "inbound" '
                   'WHERE "mailbox" = ? AND "filed_at" IS NULL AND "state" IN (?, ?, ?) '
                   'ORDER BY "id" LIMIT ?', (mailbox, *FINISHED, limit)).fetchall()


def waiting_to_file(mailbox: str) -> int:
    """How many of `mailbox`'s mails are not yet filed, finished or not."""
    return execute('SELECT COUNT(*) FROM "inbound" WHERE "mailbox" = ? AND "filed_at" IS NULL',
                   (mailbox,)).fetchone()[0]


def mark_filed(ids: list[int]) -> None:
    Inbound.update(filed_at=utcnow()).where(Inbound.id.in_(ids)).execute()


def listing(state: str, limit: int = 100) -> list[Inbound]:
    """Rows in one state, newest first, with their raw mail's size but not its bytes."""
    return list(Inbound.select(Inbound, RawMail.id, RawMail.size).join(RawMail)
                .where(Inbound.state == state).order_by(Inbound.id.desc()).limit(limit))
