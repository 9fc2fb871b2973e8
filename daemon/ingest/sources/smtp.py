"""The SMTP/LMTP edge: accept mail for the support addresses, spool it, then 250.

Edge work only: check the recipient, check the size, write the raw bytes
to the spool, and acknowledge after that transaction has committed. A
failed write answers 451 so the sending server tries again later.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP
from peewee import InterfaceError, OperationalError

from daemon.config import SMTPConfig
from daemon.errors import PatroldeskError
from daemon.ingest.sources import spool
from daemon.store import db

log = logging.getLogger("patroldesk.smtp")


class SpoolHandler:
    """aiosmtpd handler: 550 for strangers' addresses, spool, 250 after commit."""

    def __init__(self, addresses: list[str], protocol: str, on_spooled: Callable[[], None],
                 executor: ThreadPoolExecutor):
        self.addresses = {a.lower() for a in addresses}
        self.protocol = protocol
        self.on_spooled = on_spooled
        self.executor = executor
        self.in_flight = 0  # DATA transfers being stored; a stop waits for them

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in address):
            return "553 5.1.7 The sender address contains control characters"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() not in self.addresses:
            return f"550 5.1.1 <{address}>: not a support address here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or b""
        detail = {"peer": _peer(session), "helo": session.host_name,
                  "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}
        loop = asyncio.get_running_loop()
        self.in_flight += 1
        try:
            row_id = await loop.run_in_executor(self.executor, _spool_durably, raw,
                                                self.protocol, detail, envelope.mail_from)
        except Exception as exc:  # the sender keeps the mail and retries
            log.error("could not spool a mail from %s: %s", envelope.mail_from, exc)
            return self._per_recipient(envelope, "451 4.3.0 Could not store the mail; try again later")
        finally:
            self.in_flight -= 1
        self.on_spooled()
        return self._per_recipient(envelope, f"250 2.0.0 Queued as {row_id}")

    def _per_recipient(self, envelope, reply: str) -> str:
        # LMTP answers DATA once per accepted recipient.
        if self.protocol == "lmtp":
            return "\r\n".join([reply] * max(1, len(envelope.rcpt_tos)))
        return reply


def _spool_durably(raw: bytes, origin: str, detail: dict, mail_from: str | None) -> int:
    try:
        return _spool_once(raw, origin, detail, mail_from)
    except (OperationalError, InterfaceError):
        # The server may have dropped this connection (restart, failover): one
        # more try on a fresh one. A second copy, should the first have
        # committed after all, is caught by dedupe.
        _drop_connection()
        try:
            return _spool_once(raw, origin, detail, mail_from)
        except Exception:
            _drop_connection()  # a dead connection must not answer 451 to every later mail
            raise


def _spool_once(raw: bytes, origin: str, detail: dict, mail_from: str | None) -> int:
    db.make_durable()
    return spool.enqueue(raw, origin, detail, mail_from).id


def _drop_connection() -> None:
    try:
        db.database.close()
    except Exception:  # noqa: BLE001 - closing a broken connection may itself fail
        pass


class _LongLines:
    """Accept long lines inside DATA: RFC 5321 says 1,000, real mail says otherwise.

    Refusing them would bounce a customer's mail for good; the size limit
    still bounds what one connection may send.
    """
    line_length_limit = 1 << 20


class _SMTP(_LongLines, SMTP):
    pass


class _LMTP(_LongLines, LMTP):
    pass


def _peer(session) -> str:
    peer = session.peer
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)


class SMTPListener:
    """An aiosmtpd server on its own thread and event loop, on a pre-bound socket."""

    def __init__(self, config: SMTPConfig, addresses: list[str], on_spooled: Callable[[], None]):
        self.config = config
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="smtp-spool")
        self.handler = SpoolHandler(addresses, config.protocol, on_spooled, self.executor)
        self.loop = asyncio.new_event_loop()
        self.port: int | None = None
        self._server = None
        self._sessions: weakref.WeakSet = weakref.WeakSet()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            sock = socket.create_server((self.config.host, self.config.port))
        except OSError as exc:
            raise PatroldeskError(f"cannot listen for mail on {self.config.host}:{self.config.port}: "
                                  f"{exc.strerror} (another daemon running? see [smtp] port)") from None
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(sock, ready),
                                        name="smtp-listener", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the SMTP listener did not start")

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server_class = _LMTP if self.config.protocol == "lmtp" else _SMTP

        def factory():
            session = server_class(self.handler, data_size_limit=self.config.max_message_bytes,
                                   enable_SMTPUTF8=True, decode_data=False,
                                   hostname="patroldesk", ident="patroldesk ESMTP",
                                   loop=self.loop)
            self._sessions.add(session)
            return session

        self._server = self.loop.run_until_complete(self.loop.create_server(factory, sock=sock))
        ready.set()
        self.loop.run_forever()

    def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, let mail being stored finish, then close every session."""
        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(grace), self.loop)
        self._thread.join(grace + 10)
        # A write stuck on a database lock must not hold the daemon's stop hostage;
        # if it commits later, the sender's retry is caught by dedupe.
        self.executor.shutdown(wait=False, cancel_futures=True)
        self._thread = None

    async def _shutdown(self, grace: float) -> None:
        self._server.close()
        deadline = self.loop.time() + grace
        while self.handler.in_flight and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        for session in list(self._sessions):
            if session.transport is not None and not session.transport.is_closing():
                session.transport.write(b"421 4.3.2 patroldesk is shutting down; try again later\r\n")
                session.transport.close()
        sessions = [task for task in asyncio.all_tasks(self.loop) if task is not asyncio.current_task()]
        for task in sessions:
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)
        self.loop.stop()
