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

from daemon.db import database, insert_fast, insert_if_absent
from daemon.models import Inbound, RawMail, utcnow


def enqueue(raw: bytes, origin: str, detail: dict | None = None,
            mail_from: str | None = None) -> Inbound:
    """Store raw bytes and one spool row for this delivery, in one transaction."""
    digest = hashlib.sha256(raw).hexdigest()
    with database.atomic():
        # Insert-or-ignore: two edges may store the same bytes at once.
        insert_if_absent(RawMail, sha256=digest, data=raw, size=len(raw))
        stored = RawMail.select(RawMail.id).where(RawMail.sha256 == digest).scalar()
        return insert_fast(Inbound, raw=stored, origin=origin, mail_from=mail_from,
                           origin_detail=json.dumps(detail or {}, ensure_ascii=False))


def claim(limit: int, lease_seconds: int, now: dt.datetime | None = None) -> list[Inbound]:
    """Lease up to `limit` rows that are queued, or whose lease has expired."""
    now = now or utcnow()
    until = now + dt.timedelta(seconds=lease_seconds)
    with database.atomic():
        # Two index walks, not one OR: the queue in order, then leases that ran out.
        ids = [row.id for row in Inbound.select(Inbound.id).where(Inbound.state == "queued")
               .order_by(Inbound.id).limit(limit)]
        if len(ids) < limit:
            ids += [row.id for row in Inbound.select(Inbound.id).where(
                (Inbound.state == "processing") & (Inbound.lease_until < now))
                .order_by(Inbound.id).limit(limit - len(ids))]
        if not ids:
            return []
        # Re-check the state in the UPDATE so two claimers never share a row.
        Inbound.update(state="processing", lease_until=until, attempts=Inbound.attempts + 1).where(
            Inbound.id.in_(ids)
            & ((Inbound.state == "queued") | (Inbound.lease_until < now))
        ).execute()
        # The raw bytes come along in the same query: the pipeline needs them next.
        return list(Inbound.select(Inbound, RawMail).join(RawMail).where(
            Inbound.id.in_(ids) & (Inbound.lease_until == until)).order_by(Inbound.id))


def claim_one(inbound_id: int, lease_seconds: int) -> Inbound | None:
    """Lease one given row (the CLI processes what it just enqueued)."""
    now = utcnow()
    until = now + dt.timedelta(seconds=lease_seconds)
    taken = Inbound.update(state="processing", lease_until=until, attempts=Inbound.attempts + 1).where(
        (Inbound.id == inbound_id)
        & ((Inbound.state == "queued") | ((Inbound.state == "processing") & (Inbound.lease_until < now)))
    ).execute()
    return Inbound.get_by_id(inbound_id) if taken else None


def release(rows: list[Inbound]) -> None:
    """Hand leased rows back to the queue without counting an attempt."""
    Inbound.update(state="queued", lease_until=None, attempts=Inbound.attempts - 1).where(
        Inbound.id.in_([row.id for row in rows]) & (Inbound.state == "processing")).execute()


def finish(row: Inbound, state: str, outcome: str, reason: str = "",
           message=None, detail: str = "") -> None:
    """Record how a claimed row ended (call inside the mail's transaction)."""
    Inbound.update(state=state, outcome=outcome, reason=reason, detail=detail,
                   message=message, lease_until=None, finished_at=utcnow()
                   ).where(Inbound.id == row.id).execute()


def requeue(inbound_id: int) -> bool:
    """Put a quarantined or discarded row back in the queue; False if it is neither."""
    return bool(Inbound.update(state="queued", outcome=None, reason="", detail="",
                               attempts=0, lease_until=None, finished_at=None).where(
        (Inbound.id == inbound_id) & Inbound.state.in_(("quarantined", "discarded"))
    ).execute())


def listing(state: str, limit: int = 100) -> list[Inbound]:
    return list(Inbound.select().where(Inbound.state == state)
                .order_by(Inbound.id.desc()).limit(limit))


def depth() -> int:
    return Inbound.select().where(Inbound.state.in_(("queued", "processing"))).count()
