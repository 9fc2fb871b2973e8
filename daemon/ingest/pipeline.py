"""The ingest pipeline: each spooled mail, in one transaction, through STAGES.

A stage is a module in daemon/ingest/stages with `run(ctx)`. It ends normally,
or raises Discard(reason) to stop on purpose (the mail is kept and marked).
Any other exception rolls the mail's transaction back and quarantines the
spooled mail with the reason and the traceback. One log line per mail says
what became of it, starting with its Message-ID.
"""
from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from peewee import IntegrityError, InterfaceError, InternalError, OperationalError

from daemon import outbound
from daemon.config import Config
from daemon.errors import Discard, Quarantine
from daemon.ingest import stages
from daemon.ingest.prepare import Prepared, Preparer
from daemon.ingest.sources import spool
from daemon.mail.language import Detected
from daemon.mail.parse import Address, ParsedMail, parse
from daemon.store.db import database
from daemon.store.models import Inbound, Message, Ticket
from daemon.wakeable import WakeableThread

STAGES = (
    "loop_guard",
    "dedupe",
    "bounce",
    "threading",
    "ticket",
    "attachments",
    "language",
    "suggest",
    "policies",
    "acknowledge",
)
_RUN = {name: getattr(stages, name).run for name in STAGES}

log = logging.getLogger("patroldesk.ingest")


@dataclass
class MailContext:
    """What the stages know about one mail, filled in as they run."""
    config: Config
    inbound: Inbound
    mail: ParsedMail
    raw: bytes = b""
    sender: Address | None = None
    automatic: str | None = None
    ticket: Ticket | None = None
    signal: str | None = None
    claimed_ref: int | None = None
    message: Message | None = None
    language: Detected | None = None  # what the mail is written in (the language stage)
    outcome: str = "created"
    prepared: Prepared | None = None  # the work done beforehand in another process, if any


@dataclass(frozen=True)
class Disposition:
    """What became of one spooled mail."""
    inbound_id: int
    outcome: str  # created, threaded, duplicate, ignored, bounced, quarantined
    message_id: str | None
    ticket: int | None
    reason: str = ""
    waits_for: int | None = None  # "waiting": the spool row of the mail it answers, not processed yet


def process(row: Inbound, config: Config, prepared: Prepared | None = None) -> Disposition:
    """Run one claimed spool row through the pipeline; never raises for bad mail.

    Raises only when the database itself fails (the row is handed back), or
    LeaseLost when another claimer took the row over (its work is rolled back).
    """
    try:
        result = _process(row, config, prepared)
    except spool.LeaseLost:
        log.warning("spool %d: the lease ran out and another worker took the mail over; leaving it to them",
                    row.id)
        raise
    _log_disposition(result)
    return result


class _ParentInSpool(Exception):
    """The mail answers one still in the spool: it waits, so that it joins its parent's ticket."""

    def __init__(self, parent_row: int, message_id: str | None):
        self.parent_row, self.message_id = parent_row, message_id
        super().__init__(f"waits for spool {parent_row}, the mail it answers")


# How long a reply stays out of the queue while its parent is processed elsewhere: about one batch.
WAIT_FOR_PARENT_SECONDS = 0.25


class _NotPrepared(Exception):
    """Preparing the mail failed in another process: quarantined with that process's reason."""

    def __init__(self, reason: str, detail: str):
        self.reason, self.detail = reason, detail
        super().__init__(reason)


def _process(row: Inbound, config: Config, prepared: Prepared | None = None) -> Disposition:
    try:
        result = _run_stages_racing(row, config, prepared)
    except _ParentInSpool as early:
        spool.defer(row, WAIT_FOR_PARENT_SECONDS)
        result = Disposition(row.id, "waiting", early.message_id, None, str(early), waits_for=early.parent_row)
    except Discard as stop:
        with database.atomic():
            if stop.record is not None:
                stop.record()
            spool.finish(row, "discarded", stop.outcome, reason=stop.reason)
        result = Disposition(row.id, stop.outcome, _message_id_of(row), stop.ticket, stop.reason)
    except _DATABASE_TROUBLE as exc:
        _hand_back(row, exc)
        raise
    except _NotPrepared as failed:
        result = _quarantine(row, failed.reason, failed.detail)
    except Quarantine as refused:  # a stage's own verdict needs no traceback
        result = _quarantine(row, str(refused))
    except Exception as exc:  # anything else is this mail's fault: quarantine it
        result = _quarantine(row, f"{type(exc).__name__}: {exc}", traceback.format_exc())
    return result


# Errors of the database itself (connection, locks, read-only standby); a
# DataError or IntegrityError, by contrast, is something this mail provoked.
_DATABASE_TROUBLE = (OperationalError, InterfaceError, InternalError)
# SQLSTATE classes and SQLite messages that say "not now", whichever mail runs.
_TRANSIENT_SQLSTATES = ("08", "25", "40", "53", "55", "57", "58")
_TRANSIENT_MESSAGES = ("locked", "busy", "disk is full", "disk i/o", "unable to open", "read-only",
                       "timeout", "deadlock", "could not serialize")


def _is_transient(exc: Exception) -> bool:
    cause = exc.__cause__ or exc.__context__ or exc
    sqlstate = getattr(cause, "pgcode", None) or ""
    if sqlstate.startswith(_TRANSIENT_SQLSTATES):
        return True
    text = str(exc).lower()
    return any(words in text for words in _TRANSIENT_MESSAGES)


# A mail can lose a race for each row with a unique key it shares with a mail another worker
# is storing (its customer, say). The lost race ends when the winner commits, so the next
# run sees the winner's row; dedupe's turn-taking keeps the message itself out of these races.
_RACES = 3


def _run_stages_racing(row: Inbound, config: Config, prepared: Prepared | None) -> Disposition:
    for _ in range(_RACES - 1):
        try:
            return _run_stages(row, config, prepared)
        except IntegrityError:
            continue  # the winner has committed its row: the next run finds it
    return _run_stages(row, config, prepared)


def _run_stages(row: Inbound, config: Config, prepared: Prepared | None) -> Disposition:
    raw = bytes(row.raw.data)  # PostgreSQL hands back a memoryview
    if prepared is not None and prepared.mail is None:
        raise _NotPrepared(*prepared.failure)
    with database.atomic():
        mail = prepared.mail if prepared is not None else parse(raw, max_depth=config.ingest.max_mime_depth)
        row.parsed_message_id = mail.message_id
        parent = spool.unfinished_parent(row.id, _parents(mail, config))
        if parent is not None:
            raise _ParentInSpool(parent, mail.message_id)
        ctx = MailContext(config=config, inbound=row, mail=mail, raw=raw, prepared=prepared)
        for name in STAGES:
            _RUN[name](ctx)
        spool.finish(row, "done", ctx.outcome, message=ctx.message)
    return Disposition(row.id, ctx.outcome, mail.message_id, ctx.ticket.number)


def _parents(mail, config: Config) -> tuple[str, ...]:
    """The Message-IDs threading may follow from this mail (a reply never overtakes its parent)."""
    wanted = config.threading
    return (*(mail.in_reply_to if wanted.in_reply_to else ()), *(mail.references if wanted.references else ()))


def _message_id_of(row: Inbound) -> str | None:
    return getattr(row, "parsed_message_id", None)


def _quarantine(row: Inbound, reason: str, detail: str = "") -> Disposition:
    reason = " ".join(reason.split())[:2000]
    try:
        with database.atomic():
            spool.finish(row, "quarantined", "quarantined", reason=reason, detail=detail)
    except _DATABASE_TROUBLE as exc:
        _hand_back(row, exc)  # the verdict is lost with the connection; the mail is not
        raise
    return Disposition(row.id, "quarantined", _message_id_of(row), None, reason)


def _hand_back(row: Inbound, exc: Exception) -> None:
    """Return the row to the queue after a database error.

    Only an error that is not transient (not a lock, timeout, outage...) while
    the database still answers is blamed on this mail: it counts as an attempt,
    so a mail that keeps provoking it ends in quarantine instead of looping.
    """
    blamed = not _is_transient(exc) and _database_answers()
    failure = f"database error: {type(exc).__name__}: {exc}" if blamed else None
    try:
        spool.release([row], failure)
    except _DATABASE_TROUBLE:
        pass  # its lease runs out and it is claimed again


def _database_answers() -> bool:
    try:
        database.execute_sql("SELECT 1")
        return True
    except _DATABASE_TROUBLE:
        try:
            database.close()  # the next use reconnects
        except Exception:  # noqa: BLE001 - a dead connection may fail to close
            pass
        return False


def _log_disposition(result: Disposition) -> None:
    mid = f"<{result.message_id}>" if result.message_id else f"<no message-id: spool {result.inbound_id}>"
    linked = {"created": " ticket", "threaded": " into ticket"}.get(result.outcome, " on ticket")
    where = f"{linked} #{result.ticket}" if result.ticket else ""
    why = f": {result.reason}" if result.reason else ""
    level = {"quarantined": logging.WARNING, "waiting": logging.DEBUG}.get(result.outcome, logging.INFO)
    log.log(level, "%s %s%s (spool %d)%s", mid, result.outcome, where, result.inbound_id, why)


def process_claimed(rows: list[Inbound], config: Config, prepared: dict[int, Prepared] | None = None
                    ) -> list[Disposition]:
    """Process leased rows, quarantining any that has already failed too often."""
    results = []
    for row in rows:
        if row.attempts >= config.ingest.max_attempts:
            result = _give_up(row)
            _log_disposition(result)
            results.append(result)
        else:
            results.append(process(row, config, (prepared or {}).get(row.id)))
    return results


def _give_up(row: Inbound) -> Disposition:
    last = f"; last error: {row.reason}" if row.reason else " (its worker stopped each time)"
    return _quarantine(row, f"processing failed {row.attempts} times{last}")


def drain(config: Config, limit: int | None = None, preparer: Preparer | None = None,
          after_batch: Callable[[list[Disposition]], None] | None = None) -> list[Disposition]:
    """Process queued mail until the spool is empty (or `limit` mails are done), then render the
    acknowledgements it queued. With a `preparer`, each batch is prepared in its processes while
    the one before it is written; `after_batch` hears what became of each batch."""
    done: list[Disposition] = []

    def finish(claimed) -> None:
        results = [result for result in _process_prepared(claimed, config) if result.outcome != "waiting"]
        done.extend(results)
        if after_batch is not None:
            after_batch(results)

    ahead = None  # the next batch, claimed and being prepared
    while limit is None or len(done) + (len(ahead[0]) if ahead else 0) < limit:
        taken = len(done) + (len(ahead[0]) if ahead else 0)
        batch = config.ingest.batch_size if limit is None else min(config.ingest.batch_size, limit - taken)
        rows = spool.claim(batch, config.ingest.lease_seconds)
        if not rows and ahead is None:
            if not spool.waiting():
                break
            time.sleep(WAIT_FOR_PARENT_SECONDS)  # a reply waits for a parent another process holds
            continue
        current, ahead = ahead, (_prepare_ahead(rows, preparer) if rows else None)
        if current is not None:
            finish(current)
    if ahead is not None:
        finish(ahead)
    # After the batches' transactions, as the daemon's sender does.
    outbound.render_pending(config, elsewhere=preparer.call if preparer else None)
    return done


def _prepare_ahead(rows: list[Inbound], preparer: Preparer | None):
    """Start preparing claimed rows; None as the batch when there is no preparer (the stages parse)."""
    if preparer is None:
        return rows, None
    return rows, preparer.submit([bytes(row.raw.data) for row in rows])


def _process_prepared(claimed, config: Config, stopping: threading.Event | None = None) -> list[Disposition]:
    rows, batch = claimed
    prepared = None if batch is None else dict(zip((row.id for row in rows), batch.results()))
    return process_batch(rows, config, stopping, prepared)


def process_batch(rows: list[Inbound], config: Config, stopping: threading.Event | None = None,
                  prepared: dict[int, Prepared] | None = None) -> list[Disposition]:
    """Process claimed rows in order; on a database error or a stop, hand back the rest.

    A batch of fresh mail runs in one transaction, each mail in a savepoint of
    its own: a mail that fails rolls back alone and is quarantined alone, and
    the batch pays for one commit instead of one per mail. A batch holding a
    mail that was interrupted before (its worker died, or the database
    failed) runs one transaction per mail, so the mail that kills a worker is
    the one charged for it, never its batch-mates.
    """
    if len(rows) > 1 and not any(row.attempts or getattr(row, "recovered", False) for row in rows):
        try:
            return _process_grouped(rows, config, stopping, prepared or {})
        except _DATABASE_TROUBLE:
            pass  # all of the batch rolled back and is still ours: go again, one mail at a time
    return _process_each(rows, config, stopping, prepared)


def _process_grouped(rows: list[Inbound], config: Config, stopping: threading.Event | None,
                     prepared: dict[int, Prepared]) -> list[Disposition]:
    results, lost, started = [], [], 0
    with database.atomic():
        for started, row in enumerate(rows, 1):
            if stopping is not None and stopping.is_set():
                started -= 1
                break
            if row.attempts >= config.ingest.max_attempts:
                results.append(_give_up(row))
                continue
            try:
                results.append(_process(row, config, prepared.get(row.id)))
            except spool.LeaseLost:
                lost.append(row.id)
    for row_id in lost:
        log.warning("spool %d: the lease ran out and another worker took the mail over; leaving it to them", row_id)
    for result in results:  # only now are they true
        _log_disposition(result)
    if started < len(rows):
        _release_quietly(rows[started:])  # a clean stop hands back what it had not begun
    return results


def _process_each(rows: list[Inbound], config: Config, stopping: threading.Event | None,
                  prepared: dict[int, Prepared] | None) -> list[Disposition]:
    results = []
    for index, row in enumerate(rows):
        if stopping is not None and stopping.is_set():
            _release_quietly(rows[index:])  # a clean stop hands back what it had not begun
            break
        try:
            results.extend(process_claimed([row], config, prepared))
        except spool.LeaseLost:
            continue
        except _DATABASE_TROUBLE as exc:
            # The rest need not wait out the lease; what cannot be handed back
            # now travels with the error, for the worker to hand back later.
            exc.unreleased = [] if _release_quietly(rows[index:]) else rows[index:]
            raise
    return results


def _release_quietly(rows: list[Inbound]) -> bool:
    """Hand rows back to the queue; False when the database is not answering."""
    try:
        spool.release(rows)
        return True
    except _DATABASE_TROUBLE:
        return False


class Worker(WakeableThread):
    """A thread that drains the spool whenever an edge wakes it."""

    thread_name = "pipeline"

    def __init__(self, config: Config, preparer: Preparer | None = None):
        super().__init__()
        self.config = config
        self.preparer = preparer  # processes that parse the next batch while this thread writes one
        self._unreleased: list[Inbound] = []  # rows a database outage kept us from handing back
        self._next_dead_check = 0.0  # monotonic time of the next look for mail held by dead processes
        self.after_batch: list = []  # callables told when a batch is finished (the IMAP pollers file it)

    def _round(self) -> None:
        try:
            self._drain_until_stopped()
        except _DATABASE_TROUBLE as exc:
            self._unreleased += getattr(exc, "unreleased", [])
            log.error("database trouble while processing mail: %s; retrying", " ".join(str(exc).split()))
            self._stop.wait(2.0)
            self._wake.set()
        except Exception:  # the worker must outlive any bug
            log.exception("pipeline worker error; retrying")
            self._stop.wait(2.0)
            self._wake.set()
        finally:
            database.close()

    def _drain_until_stopped(self) -> None:
        cfg = self.config.ingest
        if time.monotonic() >= self._next_dead_check:
            # A killed predecessor's or peer's mail comes first, in order, without waiting out its lease.
            freed = spool.expire_dead_claims(self.config.cluster.dead_after_seconds)
            if freed:
                log.warning("took back %d mail(s) held by a process that no longer runs", freed)
            self._next_dead_check = time.monotonic() + self.config.cluster.heartbeat_seconds
        if self._unreleased:
            spool.release(self._unreleased)  # before claiming, so an outage charges no innocent mail
            self._unreleased = []
        ahead = None  # the next batch, claimed and being prepared while this thread writes one
        try:
            while not self._stop.is_set():
                rows = spool.claim(cfg.batch_size, cfg.lease_seconds)
                current, ahead = ahead, (_prepare_ahead(rows, self.preparer) if rows else None)
                if current is None:
                    if ahead is not None:
                        continue  # claim the next one before waiting for this one
                    if spool.waiting():  # replies wait for parents in other hands: look again shortly
                        self._stop.wait(WAIT_FOR_PARENT_SECONDS)
                        self._wake.set()
                    return
                _process_prepared(current, self.config, self._stop)
                for listener in self.after_batch:
                    listener()
        finally:
            if ahead is not None:  # stopped, or the database failed: hand it back
                ahead_rows, _ = ahead
                if not _release_quietly(ahead_rows):
                    self._unreleased += ahead_rows
