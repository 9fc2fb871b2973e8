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

import datetime as dt
import imaplib
import logging
import os
import random
import re
import signal
import socket
import ssl
import threading
import time
from typing import Callable

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError
from peewee import DatabaseError, InterfaceError

from daemon import outbound
from daemon.config import Config, MailboxConfig
from daemon.ingest.sources import spool
from daemon.store import cluster, db
from daemon.store.db import database
from daemon.store.models import Lease, MailboxState, utcnow

log = logging.getLogger("patroldesk.imap")

# A batch is cut at this many bytes too, so one batch of large mails stays small in memory.
BATCH_BYTES = 16 * 1024 * 1024
SHORT_WAIT = 0.2  # seconds between looks while the pipeline works on our mail
SIZE_CHUNK = 2000  # UIDs per FETCH RFC822.SIZE (imapclient sends each UID; lines stay short)
MAX_FETCH_FAILURES = 3  # sessions in which a mail failed to come before it is skipped
SKIP_ALERT_INTERVAL = 3600  # seconds: at most one alert an hour about mails not read
HEARTBEAT_SECONDS = 30  # a working poller records that it is alive at least this often (when it wakes)
LEASE_MARGIN_SECONDS = 1.0  # mail is moved only while the mailbox stays ours at least this long

# Points where a test may have the process killed (kill -9) to prove a restart loses nothing
# (and "fetching-one": inside the careful, one-mail-at-a-time fetch).
CRASH_POINTS = ("fetched", "spooling", "spooled", "filing", "moved")


class _AlreadySpooled(Exception):
    """The checkpoint moved under us: roll this batch back."""


class _LostMailbox(Exception):
    """Another daemon holds the mailbox now: this poller stops reading it."""


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
        self._foreign: tuple[str, ...] = ()  # namespace prefixes of other users' and shared folders
        self._uidvalidity = 0
        self._failures = 0  # failed sessions in a row
        self._careful_until = 0  # UIDs up to this are fetched one at a time (MailboxState.careful_until)
        self._skipped: list[tuple[int, str]] = []  # mails given up on, not yet in an alert
        self._skip_alerted = -SKIP_ALERT_INTERVAL
        self.read_only = box.read_only  # or the server says so when the folder is opened
        self._lease = f"mailbox:{self.name}"
        self._held: bool | None = None  # None: not yet asked

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def open_session(self) -> imapclient.IMAPClient:
        """Hold the mailbox and log in, for one pass outside the poller's thread (`run --drain`):
        then `sync` and `file` as often as needed, and `close_session`."""
        if not self._hold():
            lease = Lease.get_or_none(Lease.name == self._lease)
            raise MailboxError(f"the daemon {lease.holder if lease else '?'} reads it now (only one may at a time)")
        db.make_durable()
        return self._connect()

    def close_session(self, client: imapclient.IMAPClient) -> None:
        _close_quietly(client)
        if self._held:
            self._let_go()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._poke.set()
        if self._thread.ident is not None:  # a drain's poller has no thread: stopping ends its sync
            self._thread.join(timeout)

    def poke(self) -> None:
        """Look for new mail and finished mail now (the poll job, the pipeline after a batch)."""
        self._poke.set()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._hold():
                    self._stop.wait(self.config.cluster.heartbeat_seconds)  # standing by for the holder to die
                    continue
                client = None
                try:
                    client = self._connect()
                    self._serve(client)
                except _LostMailbox as exc:
                    log.warning("mailbox %s: %s; standing by", self.name, exc)
                    self._held = False
                except Exception as exc:  # one line per attempt, whatever went wrong
                    if self._stop.is_set():
                        break
                    self._failures += 1
                    delay = self._backoff(self._failures)
                    problem = _describe(exc)
                    if isinstance(exc, (MailboxError, OSError, IMAPClientError, DatabaseError, InterfaceError)):
                        log.error("mailbox %s: %s; retrying in %.0f s (attempt %d)", self.name, problem, delay,
                                  self._failures)
                    else:
                        log.exception("mailbox %s: unexpected error; retrying in %.0f s (attempt %d)",
                                      self.name, delay, self._failures)
                    _reconnect_database()  # a dropped database connection must not outlive the session
                    self._record_failure(problem)
                    self._stop.wait(delay)
                finally:
                    if client is not None:
                        _close_quietly(client)
            if self._held:  # a standby daemon says nothing about a mailbox another one reads
                self._record_status("stopped")
                self._let_go()
        finally:
            database.close()

    def _hold(self) -> bool:
        """Whether this process holds the mailbox (one poller per mailbox across all daemons),
        taking it if it is free or its holder is known dead."""
        try:
            held = cluster.acquire(self._lease, self.config.cluster.dead_after_seconds,
                                   self.config.cluster.dead_after_seconds)
        except (DatabaseError, InterfaceError) as exc:
            log.error("mailbox %s: cannot tell who reads it: %s", self.name, _describe(exc))
            _reconnect_database()
            held = False
        if held and not self._held:
            log.info("mailbox %s: this daemon reads it now", self.name)
        elif not held and self._held is not False:
            log.info("mailbox %s: another daemon reads it; standing by to take over", self.name)
        self._held = held
        return held

    def _still_held(self) -> None:
        """Before anything only the holder may do (moving mail): raise _LostMailbox if another took over."""
        if not cluster.holds(self._lease, margin=LEASE_MARGIN_SECONDS):
            raise _LostMailbox("another daemon took the mailbox over (this one missed its heartbeats)")

    def _let_go(self) -> None:
        try:
            cluster.release(self._lease)
        except (DatabaseError, InterfaceError):
            pass  # it runs out by itself

    def _backoff(self, failures: int) -> float:
        cap = self.box.backoff_max_seconds
        return min(cap, 2 ** min(failures - 1, 20)) * random.uniform(0.8, 1.0)

    # -- one session -----------------------------------------------------

    def _connect(self) -> imapclient.IMAPClient:
        box = self.box
        try:
            context = ssl.create_default_context(cafile=box.ca_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise MailboxError(f"cannot use ca_file {box.ca_file}: {_describe(exc)}") from None
        try:
            client = imapclient.IMAPClient(box.host, port=box.effective_port, ssl=box.security == "ssl",
                                           ssl_context=context, timeout=box.timeout_seconds)
        except (OSError, IMAPClientError) as exc:
            raise MailboxError(f"cannot connect to {box.host}:{box.effective_port}: {_describe(exc)}") from None
        try:
            if box.security == "starttls":
                try:
                    client.starttls(context)
                except (OSError, IMAPClientError) as exc:
                    raise MailboxError(f"STARTTLS with {box.host}:{box.effective_port} failed: "
                                       f"{_describe(exc)}") from None
            client.login(box.user, box.password)
        except LoginError as exc:
            _close_quietly(client)
            raise MailboxError(f"login as {box.user!r} refused: {_describe(exc)} (check user and password)") from None
        except Exception:
            _close_quietly(client)
            raise
        try:
            self._learn_namespace(client)
            granted_read_only = False
            try:
                source = box.folder if client.folder_exists(box.folder) else self._server_name(box.folder)
                try:
                    selected = client.select_folder(source, readonly=box.read_only)
                except imaplib.IMAP4.readonly:  # the server allows us to read, no more
                    selected = client.select_folder(source, readonly=True)
                    granted_read_only = True
                # Fixed for the session: a server that renumbers a selected folder ends the session.
                self._uidvalidity = int(selected[b"UIDVALIDITY"])
            except IMAPClientError as exc:
                raise MailboxError(f"cannot open folder {box.folder!r}: {_describe(exc)} (check folder)") from None
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
        healthy = False
        while not self._stop.is_set():
            self._poke.clear()
            self._still_held()
            fetched = self.sync(client)
            filed = 0 if self.read_only else self.file(client)
            announced = _new_mail_announced(client)
            if not healthy:
                # Only a full pass (search, fetch, spool, file) proves the mailbox works.
                self._record_ok(idle)
                healthy = True
                seen = time.monotonic()
            elif time.monotonic() - seen >= HEARTBEAT_SECONDS:
                self._record_status("ok")  # `patroldesk mailboxes` tells a live daemon from a dead one
                seen = time.monotonic()
            if fetched or filed or announced:
                continue  # more may be waiting: look again before idling
            pending = not self.read_only and spool.waiting_to_file(self.name)
            if idle:
                # While the pipeline works on our mail, come back soon to file it (the
                # worker pokes after each batch); otherwise wait for the server's news.
                self._idle(client, tick=SHORT_WAIT if pending else 1.0)
            else:
                self._poke.wait(self.box.poll_seconds)

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
            with database.atomic():
                MailboxState.update(uidvalidity=uidvalidity, last_uid=0, careful_until=0, stuck_uid=None,
                                    stuck_tries=0, updated_at=utcnow()).where(
                    MailboxState.name == self.name).execute()
            state = self._state()
        self._careful_until = state.careful_until
        uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
        if not uids:
            return 0
        spooled = 0
        try:
            for batch, sizes in self._sized_batches(client, uids):
                if self._stop.is_set():
                    break
                mails, highest, skipped, failure = self._fetch(client, batch, sizes)
                self._crash("fetched")
                if highest > last_uid:
                    spooled += self._spool(mails, highest, uidvalidity)
                    last_uid = highest
                    self._crash("spooled")
                    self._wake_pipeline()
                self._skipped += skipped
                if failure is not None:
                    raise failure  # what came before it is spooled; the session starts again
        finally:
            self._report_skipped()
        return spooled

    def _sized_batches(self, client: imapclient.IMAPClient, uids: list[int]):
        """The batches to fetch with their sizes, asked a chunk at a time as they are reached: the first
        chunk is one batch long, so the first mail is spooled without waiting for every size."""
        start, chunk = 0, self.box.batch_size
        while start < len(uids):
            part = uids[start:start + chunk]
            sizes = self._sizes(client, part)
            for batch in _batches(part, sizes, self.box.batch_size, BATCH_BYTES):
                yield batch, sizes
            start, chunk = start + len(part), SIZE_CHUNK

    def _sizes(self, client: imapclient.IMAPClient, uids: list[int]) -> dict:
        """RFC822.SIZE of the new mail, asked in chunks: tens of thousands of UIDs are longer
        than servers accept in one command. A chunk the server fails (it cannot read one of
        its mails) is read one mail at a time instead."""
        sizes: dict = {}
        quick = [uid for uid in uids if uid > self._careful_until]
        for start in range(0, len(quick), SIZE_CHUNK):
            chunk = quick[start:start + SIZE_CHUNK]
            try:
                sizes.update(client.fetch(chunk, ["RFC822.SIZE"]))
            except (IMAPClientError, OSError) as exc:
                log.warning("mailbox %s: asking the sizes of UIDs %d to %d failed (%s); reading them one at "
                            "a time", self.name, chunk[0], chunk[-1], _describe(exc))
                self._be_careful(chunk[-1])
                if _session_lost(exc):
                    raise MailboxError(f"asking the sizes of UIDs {chunk[0]} to {chunk[-1]} failed: "
                                       f"{_describe(exc)}") from None
        return sizes

    def _fetch(self, client: imapclient.IMAPClient, batch: list[int],
               sizes: dict) -> tuple[list, int, list, Exception | None]:
        """Fetch a batch: (uid, bytes) pairs, the highest UID dealt with, the UIDs given up on
        (with why), and the error that stopped it early (None if none did).

        When the server fails a batch (Dovecot also ends the session), its
        mails are fetched one at a time, each attempt recorded first: a mail
        the server holds but will not deliver, or that kills the daemon, is
        tried MAX_FETCH_FAILURES times across sessions and restarts, then
        skipped (left where it is, the admins told), so that it cannot hold
        up the mail behind it.
        """
        limit = self.box.max_message_bytes
        too_big = {uid: size for uid in batch if (size := int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))) > limit}
        wanted = [uid for uid in batch if uid not in too_big]
        found: dict = {}
        if wanted and batch[0] > self._careful_until:
            try:
                found = client.fetch(wanted, ["BODY.PEEK[]"])
            except (IMAPClientError, OSError) as exc:
                log.warning("mailbox %s: fetching UIDs %d to %d failed (%s); fetching them one at a time",
                            self.name, batch[0], batch[-1], _describe(exc))
                self._be_careful(batch[-1])
                if _session_lost(exc):
                    return [], batch[0] - 1, [], MailboxError(
                        f"fetching UIDs {batch[0]} to {batch[-1]} failed: {_describe(exc)}")
        mails, skipped = [], []
        for uid in batch:
            if uid in too_big:
                log.error("mailbox %s: UID %d of %s is %d bytes, over max_message_bytes; it is left there "
                          "and skipped", self.name, uid, self.box.folder, too_big[uid])
                skipped.append((uid, f"it is {too_big[uid]:,} bytes, over max_message_bytes ({limit:,})"))
                continue
            body = found.get(uid, {}).get(b"BODY[]")
            if body is not None:
                mails.append((uid, body))
                continue
            outcome, value, failure = self._fetch_carefully(client, uid)
            if outcome == "mail":
                mails.append((uid, value))
            elif outcome == "skip":
                skipped.append((uid, value))
                self._failures = 0  # progress: the next bad mail starts its own backoff
            if failure is not None:
                return mails, uid if outcome == "skip" else uid - 1, skipped, failure
        return mails, batch[-1], skipped, None

    def _fetch_carefully(self, client: imapclient.IMAPClient, uid: int) -> tuple[str, object, Exception | None]:
        """One mail, its attempt recorded before it is made: ("mail", bytes, None),
        ("gone", None, None), ("skip", why, error or None) or ("retry", why, error)."""
        state = self._state()
        tries = state.stuck_tries if state.stuck_uid == uid else 0
        if tries >= MAX_FETCH_FAILURES:  # the attempts before ended the process itself
            self._set_stuck(None, 0)
            return "skip", f"fetching it stopped patroldesk {tries} times", None
        self._set_stuck(uid, tries + 1)
        self._crash("fetching-one")
        problem, error = "the server sent no content", None
        try:
            size = int(client.fetch([uid], ["RFC822.SIZE"]).get(uid, {}).get(b"RFC822.SIZE", 0))
            if size > self.box.max_message_bytes:
                self._set_stuck(None, 0)
                return "skip", f"it is {size:,} bytes, over max_message_bytes ({self.box.max_message_bytes:,})", None
            body = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {}).get(b"BODY[]")
        except (IMAPClientError, OSError) as exc:
            body, problem = None, _describe(exc)
            if _session_lost(exc):
                error = MailboxError(f"fetching UID {uid} of {self.box.folder} failed: {problem}")
        if body is not None:
            self._set_stuck(None, 0)
            return "mail", body, None
        if error is None and uid not in client.search(["UID", str(uid)]):
            self._set_stuck(None, 0)
            return "gone", None, None  # expunged meanwhile: nothing to keep
        if tries + 1 >= MAX_FETCH_FAILURES:
            self._set_stuck(None, 0)
            log.error("mailbox %s: UID %d of %s could not be fetched %d times (%s); it is left there and "
                      "skipped", self.name, uid, self.box.folder, MAX_FETCH_FAILURES, problem)
            return "skip", f"the server failed to deliver it {MAX_FETCH_FAILURES} times: {problem}", error
        return "retry", problem, error or MailboxError(
            f"the server did not deliver UID {uid} of {self.box.folder} ({problem}); it is tried again")

    def _be_careful(self, until: int) -> None:
        """Fetch UIDs up to `until` one at a time from now on (kept across restarts)."""
        self._careful_until = max(self._careful_until, until)
        with database.atomic():
            MailboxState.update(careful_until=self._careful_until).where(MailboxState.name == self.name).execute()

    def _set_stuck(self, uid: int | None, tries: int) -> None:
        with database.atomic():
            MailboxState.update(stuck_uid=uid, stuck_tries=tries).where(MailboxState.name == self.name).execute()

    def _report_skipped(self) -> None:
        """One alert for the mails skipped lately, at most one an hour: a spam run of huge
        mails must not become a storm of alerts."""
        if not self._skipped or time.monotonic() - self._skip_alerted < SKIP_ALERT_INTERVAL:
            return
        skipped, self._skipped = self._skipped, []
        self._skip_alerted = time.monotonic()
        lines = "\n".join(f"UID {uid}: {why}" for uid, why in skipped[:50])
        more = f"\n... and {len(skipped) - 50} more" if len(skipped) > 50 else ""
        try:
            with database.atomic():
                outbound.queue_alert(self.config, f"mailbox {self.name}: {len(skipped)} mail(s) not read",
                                   f"These mails in {self.box.folder} are not read into patroldesk:\n\n"
                                   f"{lines}{more}\n\nThey stay in {self.box.folder} for a person to look at.\n")
        except (DatabaseError, InterfaceError) as exc:
            log.error("mailbox %s: cannot queue the alert about skipped mail: %s", self.name, _describe(exc))

    def _spool(self, mails: list, highest: int, uidvalidity: int) -> int:
        try:
            with database.atomic():
                for uid, raw in mails:
                    spool.store(raw, "imap", {"mailbox": self.name, "uid": uid, "serves": self.serves},
                                mailbox=self.name, uidvalidity=uidvalidity, imap_uid=uid,
                                filed_at=utcnow() if self.read_only else None)  # read-only: never moved
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
                self._still_held()  # mail is moved by the one poller that holds the mailbox, once
                self._crash("filing")
                self._move(client, uids, self._server_name(target), seen=target == self.box.processed_folder)
                self._crash("moved")
        spool.mark_filed([row[0] for row in live])
        return len(rows)

    def _move(self, client: imapclient.IMAPClient, uids: list[int], folder: str, seen: bool) -> None:
        # Only what is still there: a crash after a move leaves rows unmarked, and a
        # person may have moved a mail by hand.
        wanted = set(uids)
        present = [uid for uid in client.search(["UID", _uid_set(uids)]) if uid in wanted]
        if not present:
            return
        where = _uid_set(present)
        if seen:
            client.add_flags(where, [imapclient.SEEN], silent=True)
        if client.has_capability("MOVE"):
            client.move(where, folder)
            return
        client.copy(where, folder)
        client.add_flags(where, [imapclient.DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(where)
        else:
            # A plain EXPUNGE would also remove mail someone else flagged \\Deleted.
            log.warning("mailbox %s: the server has neither MOVE nor UIDPLUS; copied mails stay "
                        "flagged \\Deleted in %s until someone expunges it", self.name, self.box.folder)

    # -- waiting ---------------------------------------------------------

    def _idle(self, client: imapclient.IMAPClient, tick: float) -> None:
        client.idle()
        started = time.monotonic()
        silent_returns = 0
        while not (self._stop.is_set() or self._poke.is_set()):
            asked = time.monotonic()
            responses = client.idle_check(timeout=tick)
            for response in responses:
                if response and response[0] == b"BYE":
                    raise MailboxError(f"the server ended the session: {_text(response[1:])}")
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                break
            # imapclient hides an end of file: the socket reads as ready and yields
            # nothing, at once, again and again.
            silent_returns = silent_returns + 1 if not responses and time.monotonic() - asked < tick / 2 else 0
            if silent_returns >= 3:
                raise MailboxError("the server closed the connection")
            if time.monotonic() - started >= self.box.idle_seconds:
                break  # re-issue IDLE before the server gives up on it
        client.idle_done()

    # -- folders ---------------------------------------------------------

    def _learn_namespace(self, client: imapclient.IMAPClient) -> None:
        if client.has_capability("NAMESPACE"):
            spaces = client.namespace()
            # Other users' and shared folders are named from their own prefix, never from ours.
            self._foreign = tuple(prefix for prefix, _ in (*(spaces.other or ()), *(spaces.shared or ())) if prefix)
            if spaces.personal:
                prefix, delimiter = spaces.personal[0]
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
        if name.startswith(self._prefix) or folder.startswith(self._foreign) or name.startswith(self._foreign):
            return name
        return self._prefix + name

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
            with database.atomic():
                self._state()
                MailboxState.update(status=status, updated_at=utcnow(), **changes).where(
                    MailboxState.name == self.name).execute()
        except (DatabaseError, InterfaceError) as exc:
            log.error("mailbox %s: cannot record its state: %s", self.name, _describe(exc))

    def _record_ok(self, idle: bool) -> None:
        """A session made a full pass: clear the failure, and say so to whoever was alerted."""
        self._failures = 0
        with database.atomic():
            state = self._state()
            if state.alerted_at is not None:
                outbound.queue_alert(self.config, f"mailbox {self.name} is working again",
                                   f"patroldesk reads the mailbox {self.name} again.\n\n"
                                   f"It failed from {state.failing_since:%Y-%m-%d %H:%M} UTC; "
                                   f"the last error was:\n{state.last_error}\n")
            MailboxState.update(status="ok", idle=idle, read_only=self.read_only, failing_since=None,
                                last_error="", alerted_at=None, last_ok_at=utcnow(), updated_at=utcnow()).where(
                MailboxState.name == self.name).execute()
        log.info("mailbox %s: reading %s on %s:%d (%s%s)", self.name, self.box.folder, self.box.host,
                 self.box.effective_port, "IDLE" if idle else f"polling every {self.box.poll_seconds} s",
                 ", read-only" if self.read_only else "")

    def _record_failure(self, problem: str) -> None:
        try:
            with database.atomic():
                state = self._state()
                now = utcnow()
                since = state.failing_since or now
                alert = (state.alerted_at is None
                         and (now - since).total_seconds() >= self.box.alert_after_seconds)
                if alert:
                    queued = outbound.queue_alert(self.config, f"mailbox {self.name} is failing",
                                                f"patroldesk cannot read the mailbox {self.name} since "
                                                f"{since:%Y-%m-%d %H:%M} UTC.\n\nThe last error:\n{problem}\n\n"
                                                "It keeps retrying; a second mail follows when it works again.\n")
                    if queued is not None:
                        log.warning("mailbox %s: failing for %d s; the admins are told", self.name,
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


def _uid_set(uids: list[int]) -> str:
    """Sorted UIDs as an IMAP sequence set of ranges ("1:5,9,12:14"): short commands."""
    parts, start, end = [], None, None
    for uid in sorted(set(uids)):
        if start is not None and uid == end + 1:
            end = uid
            continue
        if start is not None:
            parts.append(f"{start}:{end}" if end > start else str(start))
        start = end = uid
    if start is not None:
        parts.append(f"{start}:{end}" if end > start else str(start))
    return ",".join(parts)


def _new_mail_announced(client: imapclient.IMAPClient) -> bool:
    """Whether the server told of new mail in its answers since we last looked; forgets the rest.

    A mail that arrives during a sync is announced (EXISTS) in the answer to the
    next command, a FETCH or a MOVE, and not again when IDLE starts: unheeded, it
    would wait for the next IDLE renewal. imaplib keeps every such answer (and
    every EXPUNGE and COPYUID) until told to forget them.
    """
    kept = client._imap.untagged_responses
    announced = bool(kept.get("EXISTS") or kept.get("RECENT"))
    kept.clear()
    return announced


def _session_lost(exc: BaseException) -> bool:
    """The connection is gone (the server ended the session, a reset, a timeout)."""
    return isinstance(exc, (imaplib.IMAP4.abort, OSError))


def _reconnect_database() -> None:
    try:
        database.close()
    except Exception:  # noqa: BLE001 - a broken connection may fail to close; the next use reconnects
        pass


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
    """One readable line for a failure: no bytes reprs, no errno numbers, no server timings."""
    if isinstance(exc, MailboxError):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        hint = "check host" if "mismatch" in (exc.verify_message or "") else "see ca_file"
        return f"the server's certificate does not verify: {exc.verify_message} ({hint})"
    if isinstance(exc, ssl.SSLError):
        hint = (" (is this a plain IMAP port? use security = \"starttls\" here, or the TLS port, usually 993)"
                if exc.reason == "WRONG_VERSION_NUMBER" else "")
        return f"TLS error: {exc.reason or exc}{hint}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text)
    if text.startswith(("b'", 'b"')) and text.endswith(text[1]):
        text = text[2:-1]  # imapclient quotes the server's bytes
    text = _SERVER_TIMING.sub("", " ".join(text.split())).rstrip(". ") or type(exc).__name__
    return text if isinstance(exc, IMAPClientError) else f"{type(exc).__name__}: {text}"


# Dovecot's "(0.001 + 0.000 secs)" and "[2026-11-23 17:37:37]"; imaplib's "command: FETCH => ".
_SERVER_TIMING = re.compile(r"\s*\(\d+\.\d+( \+ \d+\.\d+)* secs?\)|\s*\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]|"
                            r"^command: \w+ => ")


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


def mailbox_states(config: Config, now: dt.datetime | None = None) -> list[dict]:
    """Each configured mailbox with its stored checkpoint and health (for the CLI and console).

    `stale` says the daemon has not touched the mailbox for longer than it
    would if it were running (it records a live session at least every
    HEARTBEAT_SECONDS when it wakes, and each failed attempt).
    """
    now = now or utcnow()
    stored = {s.name: s for s in MailboxState.select()}
    holders = {lease.name: lease.holder for lease in Lease.select().where(
        Lease.name.startswith("mailbox:") & Lease.holder.is_null(False) & (Lease.until >= now))}
    result = []
    for box in config.mailbox:
        state = stored.get(box.label)
        wakes = min(box.poll_seconds, box.idle_seconds) if box.idle else box.poll_seconds
        expected = max(HEARTBEAT_SECONDS, wakes, box.backoff_max_seconds, box.timeout_seconds)
        seen = state.updated_at if state else None
        result.append({
            "name": box.label, "host": box.host, "port": box.effective_port, "folder": box.folder,
            "status": state.status if state else "never started",
            "idle": bool(state and state.idle), "read_only": bool(box.read_only or (state and state.read_only)),
            "uidvalidity": state.uidvalidity if state else None,
            "last_uid": state.last_uid if state else 0,
            "failing_since": _iso(state.failing_since) if state else None,
            "last_error": state.last_error if state else "",
            "last_ok_at": _iso(state.last_ok_at) if state else None,
            "last_seen": _iso(seen),
            "stale": bool(seen and state.status != "stopped"
                          and (now - seen).total_seconds() > 2 * expected + 30),
            "alerted": bool(state and state.alerted_at),
            "waiting_to_file": spool.waiting_to_file(box.label),
            "held_by": holders.get(f"mailbox:{box.label}"),  # the daemon reading it (host/pid/start)
        })
    return result


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else None
