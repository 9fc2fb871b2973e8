"""The ingest pipeline: each spooled mail, in one transaction, through STAGES.

A stage is a module in daemon/stages with `run(ctx)`. It ends normally,
or raises Discard(reason) to stop on purpose (the mail is kept and marked).
Any other exception rolls the mail's transaction back and quarantines the
spooled mail with the reason and the traceback. One log line per mail says
what became of it, starting with its Message-ID.
"""
from __future__ import annotations

import importlib
import logging
import threading
import traceback
from dataclasses import dataclass, field

from peewee import InterfaceError, OperationalError

from daemon.config import Config
from daemon.db import database
from daemon.errors import Discard
from daemon.mail.parse import Address, ParsedMail, parse
from daemon.models import Inbound, Message, Ticket
from daemon.sources import spool

STAGES = (
    "loop_guard",
    "dedupe",
    "threading",
    "ticket",
    "attachments",
)
_RUN = {name: importlib.import_module(f"daemon.stages.{name}").run for name in STAGES}

log = logging.getLogger("patroldesk.ingest")


@dataclass
class MailContext:
    """What the stages know about one mail, filled in as they run."""
    config: Config
    inbound: Inbound
    raw: bytes
    mail: ParsedMail
    sender: Address | None = None
    automatic: str | None = None
    ticket: Ticket | None = None
    signal: str | None = None
    claimed_ref: int | None = None
    message: Message | None = None
    outcome: str = "created"
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Disposition:
    """What became of one spooled mail."""
    inbound_id: int
    outcome: str  # created, threaded, duplicate, ignored, quarantined
    message_id: str | None
    ticket: int | None
    reason: str = ""


def process(row: Inbound, config: Config) -> Disposition:
    """Run one claimed spool row through the pipeline; never raises for bad mail."""
    raw = bytes(row.raw.data)
    message_id = None
    try:
        with database.atomic():
            mail = parse(raw, max_depth=config.ingest.max_mime_depth)
            message_id = mail.message_id
            ctx = MailContext(config=config, inbound=row, raw=raw, mail=mail)
            for name in STAGES:
                _RUN[name](ctx)
            spool.finish(row, "done", ctx.outcome, message=ctx.message)
        result = Disposition(row.id, ctx.outcome, message_id, ctx.ticket.number)
    except Discard as stop:
        with database.atomic():
            spool.finish(row, "discarded", stop.outcome, reason=stop.reason)
        result = Disposition(row.id, stop.outcome, message_id, stop.ticket, stop.reason)
    except (OperationalError, InterfaceError):
        _release_quietly(row)
        raise  # the database failed, not the mail: the row waits for the next try
    except Exception as exc:  # anything else is this mail's fault: quarantine it
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        with database.atomic():
            spool.finish(row, "quarantined", "quarantined", reason=reason,
                         detail=traceback.format_exc())
        result = Disposition(row.id, "quarantined", message_id, None, reason)
    _log_disposition(result)
    return result


def _release_quietly(row: Inbound) -> None:
    try:
        spool.release([row])
    except (OperationalError, InterfaceError):
        pass  # its lease expires and it is claimed again


def _log_disposition(result: Disposition) -> None:
    mid = f"<{result.message_id}>" if result.message_id else f"<no message-id: spool {result.inbound_id}>"
    linked = {"created": " ticket", "threaded": " into ticket"}.get(result.outcome, " on ticket")
    where = f"{linked} #{result.ticket}" if result.ticket else ""
    why = f": {result.reason}" if result.reason else ""
    level = logging.WARNING if result.outcome == "quarantined" else logging.INFO
    log.log(level, "%s %s%s (spool %d)%s", mid, result.outcome, where, result.inbound_id, why)


def process_claimed(rows: list[Inbound], config: Config) -> list[Disposition]:
    """Process leased rows, quarantining any that has already killed workers too often."""
    results = []
    for row in rows:
        if row.attempts > config.ingest.max_attempts:
            results.append(_give_up(row))
        else:
            results.append(process(row, config))
    return results


def _give_up(row: Inbound) -> Disposition:
    reason = f"processing was interrupted {row.attempts - 1} times; giving up on this mail"
    with database.atomic():
        spool.finish(row, "quarantined", "quarantined", reason=reason)
    result = Disposition(row.id, "quarantined", None, None, reason)
    _log_disposition(result)
    return result


def drain(config: Config, limit: int | None = None) -> list[Disposition]:
    """Process queued mail until the spool is empty (or `limit` mails are done)."""
    done: list[Disposition] = []
    while limit is None or len(done) < limit:
        batch = config.ingest.batch_size if limit is None else min(config.ingest.batch_size, limit - len(done))
        rows = spool.claim(batch, config.ingest.lease_seconds)
        if not rows:
            break
        done.extend(process_claimed(rows, config))
    return done


class Worker:
    """A thread that drains the spool whenever an edge wakes it."""

    def __init__(self, config: Config):
        self.config = config
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pipeline", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            try:
                self._drain_until_stopped()
            except (OperationalError, InterfaceError) as exc:
                log.error("database unavailable while processing mail: %s; retrying", exc)
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
        while not self._stop.is_set():
            rows = spool.claim(cfg.batch_size, cfg.lease_seconds)
            if not rows:
                return
            for index, row in enumerate(rows):
                if self._stop.is_set():
                    spool.release(rows[index:])  # a clean stop hands back what it had not begun
                    return
                process_claimed([row], self.config)
