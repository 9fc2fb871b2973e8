"""The IMAP edge: read a support mailbox the way a careful mail client does.

One `MailboxPoller` thread per [[mailbox]]. Each session:

1. connects (ssl, starttls or plain), logs in, opens the folder (EXAMINE when
   read-only) and creates the processed and quarantine folders if missing;
2. `sync`: finds new mail by UID (`UID SEARCH UID n:*` above the checkpoint),
   fetches it with BODY.PEEK[] (so nothing turns \\Seen) in batches bounded by
   count and bytes, and spools each batch together with the new checkpoint
   (UIDVALIDITY, highest UID) in one transaction; then wakes the pipeline;
3. `file`: moves the mails the pipeline has finished, by their outcome: to the
   processed folder (flagged \\Seen) or to the quarantine folder (left unseen
   for a person to look at). A mail leaves the folder only after its spool row
   committed, so a crash anywhere loses nothing: before the commit the mail is
   fetched again, after it the checkpoint skips it and filing resumes;
4. waits: IDLE where the server offers it (re-issued every idle_seconds, well
   inside the 29 minutes servers allow), else until the scheduler's poll job
   pokes it. The poll job pokes idling pollers too, as a safety net.

A failed session logs one line and reconnects after a capped exponential
backoff with jitter. A mailbox failing for longer than alert_after_seconds
queues one alert mail to the admins, and one more when it recovers.
"""
from __future__ import annotations

import imaplib
import logging
import os
import random
import signal
import socket
import ssl
import threading
import time
from typing import Callable

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError
from peewee import DatabaseError, InterfaceError

from daemon import db, outbox
from daemon.config import Config, MailboxConfig
from daemon.db import database
from daemon.models import MailboxState, utcnow
from daemon.sources import spool

log = logging.getLogger("patroldesk.imap")

# A batch is cut at this many bytes too, so one batch of large mails stays small in memory.
BATCH_BYTES = 16 * 1024 * 1024
SHORT_WAIT = 0.2  # seconds between looks while the pipeline works on our mail

# Points where a test may have the process killed (kill -9) to prove a restart loses nothing.
CRASH_POINTS = ("fetched", "spooling", "spooled", "filing", "moved")


class _AlreadySpooled(Exception):
    """The checkpoint moved under us: roll this batch back."""


class MailboxError(Exception):
    """A session failed for a reason worth one log line (not a traceback)."""


class MailboxPoller:
    def __init__(self, box: MailboxConfig, config: Config, wake_pipeline: Callable[[], None],
                 crash_at: str | None = None):
        self.box = box
        self.config = config
        self.name = box.label
        self.serves = [a.lower() for a in (box.addresses or config.support.addresses)]
        self._wake_pipeline = wake_pipeline
        self._crash_at = crash_at
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"imap {self.name}", daemon=True)
        self._delimiter = "/"
        self._prefix = ""
        self._uidvalidity = 0
        self.read_only = box.read_only  # or the server says so when the folder is opened

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._poke.set()
        self._thread.join(timeout)

    def poke(self) -> None:
        """Look for new mail and finished mail now (the poll job, the pipeline after a batch)."""
        self._poke.set()

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                client = None
                try:
                    client = self._connect()
                    self._record_ok()
                    failures = 0
                    self._serve(client)
                except Exception as exc:  # one line per attempt, whatever went wrong
                    if self._stop.is_set():
                        break
                    failures += 1
                    delay = self._backoff(failures)
                    problem = _describe(exc)
                    if isinstance(exc, (MailboxError, OSError, IMAPClientError, DatabaseError, InterfaceError,
                                        imaplib.IMAP4.error)):
                        log.error("mailbox %s: %s; retrying in %.0f s (attempt %d)", self.name, problem, delay,
                                  failures)
                    else:
                        log.exception("mailbox %s: unexpected error; retrying in %.0f s (attempt %d)",
                                      self.name, delay, failures)
                    self._record_failure(problem)
                    self._stop.wait(delay)
                finally:
                    if client is not None:
                        _close_quietly(client)
            self._record_status("stopped")
        finally:
            database.close()

    def _backoff(self, failures: int) -> float:
        cap = self.box.backoff_max_seconds
        return min(cap, 2 ** min(failures - 1, 20)) * random.uniform(0.8, 1.0)

    # -- one session -----------------------------------------------------

    def _connect(self) -> imapclient.IMAPClient:
        box = self.box
        context = ssl.create_default_context()
        try:
            client = imapclient.IMAPClient(box.host, port=box.effective_port, ssl=box.security == "ssl",
                                           ssl_context=context, timeout=box.timeout_seconds)
        except (OSError, IMAPClientError) as exc:
            raise MailboxError(f"cannot connect to {box.host}:{box.effective_port}: {_describe(exc)}") from None
        try:
            if box.security == "starttls":
                client.starttls(context)
            client.login(box.user, box.password)
        except LoginError as exc:
            _close_quietly(client)
            raise MailboxError(f"login as {box.user!r} refused: {_describe(exc)}") from None
        except Exception:
            _close_quietly(client)
            raise
        try:
            self._learn_namespace(client)
            granted_read_only = False
            try:
                try:
                    selected = client.select_folder(box.folder, readonly=box.read_only)
                except imaplib.IMAP4.readonly:  # the server allows us to read, no more
                    selected = client.select_folder(box.folder, readonly=True)
                    granted_read_only = True
                # Fixed for the session: a server that renumbers a selected folder ends the session.
                self._uidvalidity = int(selected[b"UIDVALIDITY"])
            except IMAPClientError as exc:
                raise MailboxError(f"cannot open folder {box.folder!r}: {_describe(exc)}") from None
            self.read_only = box.read_only or granted_read_only or b"READ-ONLY" in selected
            if self.read_only and not box.read_only:
                log.warning("mailbox %s: the server grants read-only access to %s; new mail is read and "
                            "remembered by UID, nothing is moved or flagged", self.name, box.folder)
            if not self.read_only:
                for folder in (box.processed_folder, box.quarantine_folder):
                    self._ensure_folder(client, folder)
        except Exception:
            _close_quietly(client)
            raise
        return client

    def _serve(self, client: imapclient.IMAPClient) -> None:
        db.make_durable()  # the checkpoint decides what the server may forget: sync it
        idle = self.box.idle and client.has_capability("IDLE")
        self._record_status("ok", idle=idle, read_only=self.read_only)
        log.info("mailbox %s: reading %s on %s:%d (%s%s)", self.name, self.box.folder, self.box.host,
                 self.box.effective_port, "IDLE" if idle else f"polling every {self.box.poll_seconds} s",
                 ", read-only" if self.read_only else "")
        while not self._stop.is_set():
            self._poke.clear()
            fetched = self.sync(client)
            filed = 0 if self.read_only else self.file(client)
            if fetched or filed:
                continue  # more may be waiting: look again before idling
            pending = 0 if self.read_only else spool.waiting_to_file(self.name)
            if pending:
                self._wait_briefly(client)  # the pipeline is on our mail; file it when done
            elif idle:
                self._idle(client)
            else:
                self._poke.wait()

    def sync(self, client: imapclient.IMAPClient) -> int:
        """Spool every mail above the checkpoint; returns how many were spooled."""
        uidvalidity = self._uidvalidity
        state = self._state()
        last_uid = state.last_uid
        if state.uidvalidity is not None and state.uidvalidity != uidvalidity:
            log.warning("mailbox %s: UIDVALIDITY changed from %s to %s (the folder was recreated or "
                        "renumbered); reading it again from the start, and duplicates are recognised by "
                        "Message-ID and content", self.name, state.uidvalidity, uidvalidity)
            last_uid = 0
        if state.uidvalidity != uidvalidity:
            MailboxState.update(uidvalidity=uidvalidity, last_uid=0, updated_at=utcnow()).where(
                MailboxState.name == self.name).execute()
        uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
        if not uids:
            return 0
        sizes = client.fetch(uids, ["RFC822.SIZE"])
        spooled = 0
        for batch in _batches(uids, sizes, self.box.batch_size, BATCH_BYTES):
            if self._stop.is_set():
                break
            found = client.fetch(batch, ["BODY.PEEK[]"])
            self._crash("fetched")
            spooled += self._spool(batch, found, uidvalidity)
            self._crash("spooled")
            self._wake_pipeline()
        return spooled

    def _spool(self, batch: list[int], found: dict, uidvalidity: int) -> int:
        mails = [(uid, found[uid][b"BODY[]"]) for uid in batch if b"BODY[]" in found.get(uid, {})]
        missing = [uid for uid in batch if uid not in dict(mails)]
        if missing:
            log.warning("mailbox %s: UIDs %s vanished before they could be fetched", self.name, missing)
        highest = max(batch)
        try:
            with database.atomic():
                for uid, raw in mails:
                    spool.store(raw, "imap", {"mailbox": self.name, "uid": uid, "serves": self.serves},
                                mailbox=self.name, uidvalidity=uidvalidity, imap_uid=uid)
                self._crash("spooling")
                moved = MailboxState.update(last_uid=highest, updated_at=utcnow()).where(
                    (MailboxState.name == self.name) & (MailboxState.uidvalidity == uidvalidity)
                    & (MailboxState.last_uid < highest)).execute()
                if not moved:
                    raise _AlreadySpooled
        except _AlreadySpooled:
            # Another poller on this mailbox spooled these first: its rows stand, ours rolled back.
            log.warning("mailbox %s: UIDs up to %d were spooled by another poller", self.name, highest)
            return 0
        return len(mails)

    def file(self, client: imapclient.IMAPClient) -> int:
        """Move the mails the pipeline has finished out of the folder; returns how many."""
        rows = spool.unfiled(self.name)
        if not rows:
            return 0
        current = self._uidvalidity
        stale = [row[0] for row in rows if row[1] != current]
        if stale:
            # Their UIDs name nothing in the renumbered folder; their copies there are
            # fetched again and recognised as duplicates.
            spool.mark_filed(stale)
        live = [row for row in rows if row[1] == current]
        for target, states in ((self.box.processed_folder, ("done", "discarded")),
                               (self.box.quarantine_folder, ("quarantined",))):
            uids = [row[2] for row in live if row[3] in states]
            if uids:
                self._crash("filing")
                self._move(client, uids, self._server_name(target), seen=target == self.box.processed_folder)
                self._crash("moved")
        spool.mark_filed([row[0] for row in live])
        return len(rows)

    def _move(self, client: imapclient.IMAPClient, uids: list[int], folder: str, seen: bool) -> None:
        # Only what is still there: a crash after a move leaves rows unmarked, and a
        # person may have moved a mail by hand.
        present = client.search(["UID", imapclient.imapclient.join_message_ids(uids)])
        present = [uid for uid in present if uid in set(uids)]
        if not present:
            return
        if seen:
            client.add_flags(present, [imapclient.SEEN], silent=True)
        if client.has_capability("MOVE"):
            client.move(present, folder)
            return
        client.copy(present, folder)
        client.add_flags(present, [imapclient.DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(present)
        else:
            # A plain EXPUNGE would also remove mail someone else flagged \\Deleted.
            log.warning("mailbox %s: the server has neither MOVE nor UIDPLUS; copied mails stay "
                        "flagged \\Deleted in %s until someone expunges it", self.name, self.box.folder)

    # -- waiting ---------------------------------------------------------

    def _idle(self, client: imapclient.IMAPClient) -> None:
        client.idle()
        started = time.monotonic()
        silent_returns = 0
        while not (self._stop.is_set() or self._poke.is_set()):
            asked = time.monotonic()
            responses = client.idle_check(timeout=1.0)
            for response in responses:
                if response and response[0] == b"BYE":
                    raise MailboxError(f"the server ended the session: {_text(response[1:])}")
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                break
            # imapclient hides an end of file: the socket reads as ready and yields
            # nothing, at once, again and again.
            silent_returns = silent_returns + 1 if not responses and time.monotonic() - asked < 0.5 else 0
            if silent_returns >= 3:
                raise MailboxError("the server closed the connection")
            if time.monotonic() - started >= self.box.idle_seconds:
                break  # re-issue IDLE before the server gives up on it
        client.idle_done()

    def _wait_briefly(self, client: imapclient.IMAPClient) -> None:
        self._poke.wait(SHORT_WAIT)

    # -- folders ---------------------------------------------------------

    def _learn_namespace(self, client: imapclient.IMAPClient) -> None:
        if client.has_capability("NAMESPACE"):
            personal = client.namespace().personal
            if personal:
                prefix, delimiter = personal[0]
                self._prefix = prefix or ""
                self._delimiter = delimiter or "/"
                return
        listed = client.list_folders(directory="", pattern="")
        if listed and listed[0][1]:
            self._delimiter = listed[0][1].decode() if isinstance(listed[0][1], bytes) else listed[0][1]

    def _server_name(self, folder: str) -> str:
        """A configured folder name ("patroldesk/processed") as this server spells it."""
        if folder.upper() == "INBOX":
            return folder
        parts = [part for part in folder.split("/") if part]
        name = self._delimiter.join(parts)
        return name if name.startswith(self._prefix) else self._prefix + name

    def _ensure_folder(self, client: imapclient.IMAPClient, folder: str) -> None:
        name = self._server_name(folder)
        if client.folder_exists(name):
            return
        try:
            client.create_folder(name)
            log.info("mailbox %s: created folder %s", self.name, name)
        except IMAPClientError as exc:
            if not client.folder_exists(name):  # another poller may have created it meanwhile
                raise MailboxError(f"cannot create folder {name!r}: {_describe(exc)}") from None

    # -- state and health --------------------------------------------------

    def _state(self) -> MailboxState:
        state = MailboxState.get_or_none(MailboxState.name == self.name)
        if state is None:
            db.insert_if_absent(MailboxState, name=self.name)
            state = MailboxState.get(MailboxState.name == self.name)
        return state

    def _record_status(self, status: str, **changes) -> None:
        try:
            self._state()
            MailboxState.update(status=status, updated_at=utcnow(), **changes).where(
                MailboxState.name == self.name).execute()
        except (DatabaseError, InterfaceError) as exc:
            log.error("mailbox %s: cannot record its state: %s", self.name, _describe(exc))

    def _record_ok(self) -> None:
        """A session opened: clear the failure, and say so to whoever was alerted."""
        with database.atomic():
            state = self._state()
            if state.alerted_at is not None:
                outbox.queue_alert(self.config, f"mailbox {self.name} is working again",
                                   f"patroldesk reads the mailbox {self.name} again.\n\n"
                                   f"It failed from {state.failing_since:%Y-%m-%d %H:%M} UTC; "
                                   f"the last error was:\n{state.last_error}\n")
            MailboxState.update(status="ok", failing_since=None, last_error="", alerted_at=None,
                                last_ok_at=utcnow(), updated_at=utcnow()).where(
                MailboxState.name == self.name).execute()

    def _record_failure(self, problem: str) -> None:
        try:
            with database.atomic():
                state = self._state()
                now = utcnow()
                since = state.failing_since or now
                alert = (state.alerted_at is None
                         and (now - since).total_seconds() >= self.box.alert_after_seconds)
                if alert:
                    outbox.queue_alert(self.config, f"mailbox {self.name} is failing",
                                       f"patroldesk cannot read the mailbox {self.name} since "
                                       f"{since:%Y-%m-%d %H:%M} UTC.\n\nThe last error:\n{problem}\n\n"
                                       f"It keeps retrying; a second mail follows when it works again.\n")
                    log.warning("mailbox %s: failing for %d s; alert queued", self.name,
                                (now - since).total_seconds())
                MailboxState.update(status="failing", failing_since=since, last_error=problem[:2000],
                                    updated_at=now, alerted_at=now if alert else state.alerted_at).where(
                    MailboxState.name == self.name).execute()
        except (DatabaseError, InterfaceError) as exc:
            log.error("mailbox %s: cannot record its failure: %s", self.name, _describe(exc))

    def _crash(self, point: str) -> None:
        if self._crash_at == point:
            log.warning("mailbox %s: killing the process at %r, as asked", self.name, point)
            os.kill(os.getpid(), signal.SIGKILL)


def _batches(uids: list[int], sizes: dict, count: int, max_bytes: int):
    batch, total = [], 0
    for uid in uids:
        size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
        if batch and (len(batch) >= count or total + size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


def _describe(exc: BaseException) -> str:
    if isinstance(exc, MailboxError):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout):
        return "timed out"
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(str(text).split()) or type(exc).__name__
    return text if isinstance(exc, (IMAPClientError, MailboxError)) else f"{type(exc).__name__}: {text}"


def _text(parts) -> str:
    return " ".join(p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in parts).strip()


def _close_quietly(client: imapclient.IMAPClient) -> None:
    try:
        client.logout()
    except Exception:
        try:
            client.shutdown()
        except Exception:
            pass


def mailbox_states(config: Config) -> list[dict]:
    """Each configured mailbox with its stored checkpoint and health (for the CLI and console)."""
    stored = {s.name: s for s in MailboxState.select()}
    result = []
    for box in config.mailbox:
        state = stored.get(box.label)
        result.append({
            "name": box.label, "host": box.host, "port": box.effective_port, "folder": box.folder,
            "status": state.status if state else "never started",
            "idle": bool(state and state.idle), "read_only": bool(box.read_only or (state and state.read_only)),
            "uidvalidity": state.uidvalidity if state else None,
            "last_uid": state.last_uid if state else 0,
            "failing_since": state.failing_since.isoformat(sep=" ") if state and state.failing_since else None,
            "last_error": state.last_error if state else "",
            "last_ok_at": state.last_ok_at.isoformat(sep=" ") if state and state.last_ok_at else None,
            "alerted": bool(state and state.alerted_at),
            "waiting_to_file": spool.waiting_to_file(box.label),
        })
    return result

