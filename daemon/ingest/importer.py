"""`import`: years of mail from an mbox, a Maildir or a folder of .eml files, through the live pipeline.

Every message goes through the same spool and stages as live mail (threading,
dedupe, loop guard, policies), oldest first (sources.archive), a chunk at a
time. Imported mail is not acknowledged unless asked: the customers wrote
long ago. Resumable: a message whose bytes the store already holds is not
spooled again (counted as a duplicate), and mail an interrupted run spooled
but did not process is processed first; so a second run after a kill imports
nothing twice and skips nothing. A daemon running beside it may process the
spooled chunk itself: the outcome is read from the spool either way.
"""
from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from daemon.config import Config
from daemon.ingest import pipeline
from daemon.ingest.sources import archive, spool
from daemon.store.db import database
from daemon.store.models import Inbound, RawMail

ORIGIN = "import"
CHUNK = 200
OUTCOMES = ("created", "threaded", "duplicate", "ignored", "quarantined")
_WAIT_SECONDS = 600  # for a chunk a daemon beside us is still processing


def import_archives(config: Config, kind: str, paths: list[Path], acknowledge: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> Counter:
    """Import every message of the archives; what became of them, by OUTCOMES (and "total")."""
    counts: Counter = Counter({name: 0 for name in OUTCOMES})
    spool.expire_dead_claims(config.cluster.dead_after_seconds)  # an import killed mid-chunk: at once
    resumed = {row.raw.sha256: row for row in _finish(config, [row.id for row in Inbound.select(Inbound.id).where(
        (Inbound.origin == ORIGIN) & Inbound.state.in_(("queued", "processing")))])}
    opened: dict = {}
    with archive.entries(kind, paths) as found:
        counts["total"] = len(found)
        chunk, done = [], 0
        try:
            for entry in found:
                chunk.append((entry, archive.read(kind, entry, opened)))
                if len(chunk) == CHUNK:
                    done = _chunk_done(config, chunk, acknowledge, counts, resumed, done, len(found), progress)
                    chunk = []
            if chunk:
                _chunk_done(config, chunk, acknowledge, counts, resumed, done, len(found), progress)
        finally:
            for handle in opened.values():
                handle.close()
    return counts


def _chunk_done(config: Config, chunk: list, acknowledge: bool, counts: Counter, resumed: dict, done: int,
                total: int, progress) -> int:
    _spool_and_process(config, chunk, acknowledge, counts, resumed)
    done += len(chunk)
    if progress is not None:
        progress(done, total)
    return done


def _spool_and_process(config: Config, chunk: list, acknowledge: bool, counts: Counter, resumed: dict) -> None:
    """Spool the chunk's messages the store does not hold yet and process them, counting each: one
    an interrupted run had spooled and this one processed (`resumed`, by digest) by what became of
    it, one held already as a duplicate."""
    digests = [hashlib.sha256(data).hexdigest() for _, data in chunk]
    held = {row.sha256 for row in RawMail.select(RawMail.sha256).where(RawMail.sha256.in_(digests))}
    ids = []
    with database.atomic():
        for (entry, data), digest in zip(chunk, digests):
            if digest in resumed:
                _tally(counts, [resumed.pop(digest)])
                held.add(digest)
                continue
            if digest in held:
                counts["duplicate"] += 1
                continue
            held.add(digest)  # the same bytes twice in one archive are one mail
            ids.append(spool.store(data, ORIGIN, {"archive": Path(entry.source).name, "key": entry.key,
                                                  "acknowledge": acknowledge}).id)
    _tally(counts, _finish(config, ids))


def _finish(config: Config, ids: list[int]) -> list[Inbound]:
    """Process the spooled rows (here, or wait for the daemon that claimed them); their rows, finished."""
    if not ids:
        return []
    pipeline.drain(config)
    deadline = time.monotonic() + _WAIT_SECONDS
    while True:
        rows = list(Inbound.select(Inbound.id, Inbound.state, Inbound.outcome, RawMail.sha256).join(RawMail)
                    .where(Inbound.id.in_(ids)))
        if all(row.state not in ("queued", "processing") for row in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)
        pipeline.drain(config)


def _tally(counts: Counter, rows: list[Inbound]) -> None:
    for row in rows:
        if row.state == "quarantined":
            counts["quarantined"] += 1
        elif row.outcome in ("created", "threaded", "duplicate"):
            counts[row.outcome] += 1
        elif row.state in ("done", "discarded"):
            counts["ignored"] += 1  # automatic mail, bounces, loops: kept, no ticket
