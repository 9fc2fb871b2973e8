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
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from daemon import outbound
from daemon.config import Config
from daemon.ingest import pipeline
from daemon.ingest.prepare import Preparer
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
    phases: dict = field(default_factory=dict)  # seconds spent fetching, processing, filing, sending

    def as_dict(self) -> dict:
        return {"spooled": self.spooled, "processed": sum(self.outcomes.values()), **dict(self.outcomes),
                "filed": self.filed, "sent": self.sent, "failed_mailboxes": self.failed_mailboxes,
                "seconds": round(self.seconds, 3),
                "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()}}


def drain(config: Config, progress: Callable[[str, int], None] = lambda stage, count: None) -> DrainSummary:
    """Fetch what every mailbox holds now, process the spool, file the mail, send what is due.
    `progress(stage, count)` hears how far each stage is (for a progress bar)."""
    started = time.monotonic()
    summary = DrainSummary()
    member = cluster.Membership(("ingest", "outbox"), config.cluster.heartbeat_seconds,
                                config.cluster.dead_after_seconds)
    member.start()  # renews the mailboxes' leases while the spool is processed
    preparer = Preparer(config, config.ingest.parse_processes)
    preparer.start()  # its processes start while the mailboxes are read
    sessions: list = []
    fetched = threading.Event()  # set whenever a mailbox has spooled another batch
    fetching = _Fetching(config, summary, sessions, progress, fetched)
    # Acknowledgements are rendered and sent while later mail is processed, as in the daemon.
    sender = outbound.Sender(config)
    sender.before_send.append(lambda: outbound.render_pending(config, elsewhere=preparer.call))
    try:
        fetching.start()  # the spool is processed while the mailboxes are still being read
        sender.start()
        _process(config, summary, progress, preparer, fetching, fetched, sender.wake)
        fetching.done_processing()  # it stops filing: what is left is filed below
        if fetching.error is not None:
            raise fetching.error
        sender.stop(timeout=60)  # what it has in hand; the rest is sent below
        mark = time.monotonic()
        summary.phases["fetch"] = fetching.seconds
        summary.phases["process"] = mark - started  # fetching and processing overlap
        for poller, client in sessions:
            if poller.name in summary.failed_mailboxes:
                continue  # its session is gone; its finished mail is filed by the next run or daemon
            try:
                while filed := poller.file(client):
                    summary.filed += filed
                    progress("filed", summary.filed)
            except Exception as exc:  # noqa: BLE001 - the mail stays, recorded as not yet filed
                _failed(summary, poller, exc)
        mark = _phase(summary, "file", mark)
        summary.sent = sender.sent + _send(config, progress, sender.sent, preparer)
        _phase(summary, "send", mark)
    finally:
        sender.stop()
        fetching.halt()  # when processing failed: the session is not closed under the reader's feet
        for poller, client in sessions:
            poller.close_session(client)
        preparer.stop()
        member.stop()
        database.close()
    summary.seconds = time.monotonic() - started
    return summary


def _phase(summary: DrainSummary, name: str, since: float) -> float:
    now = time.monotonic()
    summary.phases[name] = now - since
    return now


def _failed(summary: DrainSummary, poller: MailboxPoller, exc: Exception) -> None:
    why = " ".join(str(exc).split()) or type(exc).__name__
    summary.failed_mailboxes[poller.name] = why
    log.error("mailbox %s not read: %s", poller.name, why)


FILE_EVERY_SECONDS = 0.5  # how often a drain moves finished mail out of the folder while it processes


class _Fetching(threading.Thread):
    """Reads every mailbox into the spool beside the thread that processes it, then files the
    mail that is finished until the spool is processed."""

    def __init__(self, config: Config, summary: DrainSummary, sessions: list, progress, fetched: threading.Event):
        super().__init__(name="fetch", daemon=True)
        self.config, self.summary, self.sessions, self.progress, self.fetched = \
            config, summary, sessions, progress, fetched
        self.error: BaseException | None = None
        self.seconds = 0.0
        self.read_all = threading.Event()  # every mailbox has been read (or given up on)
        self._processed = threading.Event()
        self._pollers: list[MailboxPoller] = []

    def run(self) -> None:
        started = time.monotonic()
        try:
            for box in self.config.mailbox:
                self._pollers.append(MailboxPoller(box, self.config, self.fetched.set))
                self._read(self._pollers[-1])
            self.seconds = time.monotonic() - started
            self.read_all.set()
            # Then, while the rest is processed, file what is finished, so little is left for the end.
            while not self._processed.wait(FILE_EVERY_SECONDS):
                self._file()
        except BaseException as exc:  # noqa: BLE001 - a bug here is raised again by the processing thread
            self.error = exc
        finally:
            database.close()
            self.seconds = self.seconds or time.monotonic() - started
            self.read_all.set()
            self.fetched.set()

    def done_processing(self) -> None:
        """The spool is processed: stop filing (the caller files the rest), and wait for that."""
        self._processed.set()
        self.join()

    def halt(self) -> None:
        """Stop reading after the batch in hand, and wait for that."""
        self._processed.set()
        if self.is_alive():
            for poller in list(self._pollers):
                poller.stop()
            self.join()

    def _file(self) -> None:
        for poller, client in self.sessions:
            if poller.name in self.summary.failed_mailboxes:
                continue
            try:
                while filed := poller.file(client):
                    self.summary.filed += filed
                    self.progress("filed", self.summary.filed)
            except Exception as exc:  # noqa: BLE001 - the mail stays, recorded as not yet filed
                _failed(self.summary, poller, exc)

    def _read(self, poller: MailboxPoller) -> None:
        try:
            client = poller.open_session()
        except Exception as exc:  # noqa: BLE001 - one mailbox's failure is reported, the others go on
            _failed(self.summary, poller, exc)
            return
        self.sessions.append((poller, client))
        try:
            while count := poller.sync(client):
                self.summary.spooled += count
                self.progress("fetched", self.summary.spooled)
        except Exception as exc:  # noqa: BLE001 - what was spooled before the failure is processed
            _failed(self.summary, poller, exc)


def _process(config: Config, summary: DrainSummary, progress, preparer: Preparer, fetching: _Fetching,
             fetched: threading.Event, wake_sender: Callable[[], None]) -> None:
    def count(results) -> None:
        for result in results:
            summary.outcomes[result.outcome] += 1
        progress("processed", sum(summary.outcomes.values()))
        wake_sender()

    while True:
        finished = fetching.read_all.is_set()  # looked at first: what it spooled last is processed after
        fetched.clear()
        pipeline.drain(config, preparer=preparer, after_batch=count)
        if finished:
            break
        fetched.wait(1.0)


def _send(config: Config, progress, before: int, preparer: Preparer) -> int:
    sent = 0
    outbound.render_pending(config, elsewhere=preparer.call)
    while batch := outbound.send_due(config):
        sent += batch
        progress("sent", before + sent)
    return sent
