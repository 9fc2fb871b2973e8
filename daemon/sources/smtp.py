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
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from daemon import db
from daemon.config import SMTPConfig
from daemon.errors import PatroldeskError
from daemon.sources import spool

log = logging.getLogger("patroldesk.smtp")


class SpoolHandler:
    """aiosmtpd handler: 550 for strangers' addresses, spool, 250 after commit."""

    def __init__(self, addresses: list[str], protocol: str, on_spooled: Callable[[], None],
                 executor: ThreadPoolExecutor):
        self.addresses = {a.lower() for a in addresses}
        self.protocol = protocol
        self.on_spooled = on_spooled
        self.executor = executor

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
        try:
            row_id = await loop.run_in_executor(self.executor, _spool_durably, raw,
                                                self.protocol, detail, envelope.mail_from)
        except Exception as exc:  # the sender keeps the mail and retries
            log.error("could not spool a mail from %s: %s", envelope.mail_from, exc)
            return self._per_recipient(envelope, "451 4.3.0 Could not store the mail; try again later")
        self.on_spooled()
        return self._per_recipient(envelope, f"250 2.0.0 Queued as {row_id}")

    def _per_recipient(self, envelope, reply: str) -> str:
        # LMTP answers DATA once per accepted recipient.
        if self.protocol == "lmtp":
            return "\r\n".join([reply] * max(1, len(envelope.rcpt_tos)))
        return reply


def _spool_durably(raw: bytes, origin: str, detail: dict, mail_from: str | None) -> int:
    db.make_durable()
    return spool.enqueue(raw, origin, detail, mail_from).id


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
        server_class = LMTP if self.config.protocol == "lmtp" else SMTP

        def factory():
            return server_class(self.handler, data_size_limit=self.config.max_message_bytes,
                                enable_SMTPUTF8=True, decode_data=False,
                                hostname="patroldesk", ident="patroldesk ESMTP",
                                loop=self.loop)

        self._server = self.loop.run_until_complete(self.loop.create_server(factory, sock=sock))
        ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        if self._thread is None:
            return

        async def shutdown():
            self._server.close()
            await self._server.wait_closed()
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop)
        self._thread.join(10)
        self.executor.shutdown(wait=True)
        self._thread = None
