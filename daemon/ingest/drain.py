"""`run --drain`: read every mailbox once, process the whole spool, send what is due, and stop.

For bulk loads, cron-style installations and benchmarks. Each mailbox is held
under its cluster lease like a daemon's poller (a daemon reading it already is
a reason to skip it, said in the summary); a mailbox that cannot be read is
skipped with its reason, the others are drained all the same, and the summary
says which failed so the command can exit non-zero.
"""
from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from daemon import outbound
from daemon.config import Config
from daemon.ingest import pipeline
from daemon.ingest.sources.imap import MailboxPoller
from daemon.store import cluster
from daemon.store.db import database

log = logging.getLogger("patroldesk.drain")


@dataclass
class DrainSummary:
    spooled: int = 0  # read from the mailboxes in this run
    outcomes: dict = field(default_factory=collections.Counter)  # created, threaded, duplicate, ...
    filed: int = 0
    sent: int = 0
    failed_mailboxes: dict = field(default_factory=dict)  # name -> why it was not read
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"spooled": self.spooled, "processed": sum(self.outcomes.values()), **dict(self.outcomes),
                "filed": self.filed, "sent": self.sent, "failed_mailboxes": self.failed_mailboxes,
                "seconds": round(self.seconds, 3)}


def drain(config: Config, progress: Callable[[str, int], None] = lambda stage, count: None) -> DrainSummary:
    """Fetch what every mailbox holds now, process the spool, file the mail, send what is due.
    `progress(stage, count)` hears how far each stage is (for a progress bar)."""
    started = time.monotonic()
    summary = DrainSummary()
    member = cluster.Membership(("ingest", "outbox"), config.cluster.heartbeat_seconds,
                                config.cluster.dead_after_seconds)
    member.start()  # renews the mailboxes' leases while the spool is processed
    sessions = []
    try:
        for box in config.mailbox:
            poller = MailboxPoller(box, config, lambda: None)
            try:
                client = poller.open_session()
            except Exception as exc:  # noqa: BLE001 - one mailbox's failure is reported, the others go on
                _failed(summary, poller, exc)
                continue
            sessions.append((poller, client))
            try:
                while count := poller.sync(client):
                    summary.spooled += count
                    progress("fetched", summary.spooled)
            except Exception as exc:  # noqa: BLE001 - what was spooled before the failure is processed
                _failed(summary, poller, exc)
        _process(config, summary, progress)
        for poller, client in sessions:
            if poller.name in summary.failed_mailboxes:
                continue  # its session is gone; its finished mail is filed by the next run or daemon
            try:
                while filed := poller.file(client):
                    summary.filed += filed
                    progress("filed", summary.filed)
            except Exception as exc:  # noqa: BLE001 - the mail stays, recorded as not yet filed
                _failed(summary, poller, exc)
        summary.sent = _send(config, progress)
    finally:
        for poller, client in sessions:
            poller.close_session(client)
        member.stop()
        database.close()
    summary.seconds = time.monotonic() - started
    return summary


def _failed(summary: DrainSummary, poller: MailboxPoller, exc: Exception) -> None:
    why = " ".join(str(exc).split()) or type(exc).__name__
    summary.failed_mailboxes[poller.name] = why
    log.error("mailbox %s not read: %s", poller.name, why)


def _process(config: Config, summary: DrainSummary, progress) -> None:
    while True:
        done = pipeline.drain(config, limit=config.ingest.batch_size * 4)
        for result in done:
            summary.outcomes[result.outcome] += 1
        progress("processed", sum(summary.outcomes.values()))
        if not done:
            return


def _send(config: Config, progress) -> int:
    sent = 0
    outbound.render_pending(config)
    while batch := outbound.send_due(config):
        sent += batch
        progress("sent", sent)
    return sent
