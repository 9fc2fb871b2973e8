"""A real SMTP relay for the outbound tests: an aiosmtpd server on loopback that records
what it accepts, can answer with a chosen code, can be stopped and started again on the
same port (a relay that is down for a while), and can answer every mail it gets, as an
auto-responder would."""
from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
import socket
import threading

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Relay:
    """Records (mail_from, rcpt_tos, data) of each accepted mail.

    `reply` overrides the answer to DATA (e.g. '451 4.3.0 try later').
    `responder(data) -> bytes | None` is called for each accepted mail; what it returns is
    delivered to `answer_to` (host, port) from a thread, as an auto-responder would.
    """

    def __init__(self, smtputf8: bool = True, delay: float = 0.0):
        self.smtputf8 = smtputf8
        self.delay = delay  # seconds before answering MAIL, RCPT and DATA: a slow relay
        self.port = free_port()
        self.received: list[tuple[str, list[str], bytes]] = []
        self.reply: str | None = None
        self.responder = None
        self.answer_to: tuple[str, int] | None = None
        self.answered = 0
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await asyncio.sleep(self.delay)
        envelope.mail_from, envelope.mail_options = address, list(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        if self.reply:
            return self.reply
        data = envelope.original_content
        with self._lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), data))
        if self.responder is not None and self.answer_to is not None:
            answer = self.responder(data)
            if answer is not None:
                threading.Thread(target=self._answer, args=(answer,), daemon=True).start()
        return "250 OK"

    def _answer(self, answer: bytes) -> None:
        with smtplib.SMTP(*self.answer_to, timeout=10) as connection:
            parsed = email.message_from_bytes(answer, policy=email.policy.default)
            connection.sendmail(parsed["From"].addresses[0].addr_spec,
                                [a.addr_spec for a in parsed["To"].addresses], answer)
        with self._lock:
            self.answered += 1

    def mails(self) -> list[email.message.EmailMessage]:
        with self._lock:
            return [email.message_from_bytes(data, policy=email.policy.default) for _, _, data in self.received]


class RudeGoodbyeRelay:
    """A minimal SMTP server that accepts every mail and answers QUIT with 250, not 221."""

    def __init__(self):
        self.port = free_port()
        self.received: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(5)

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                continue
            with connection, connection.makefile("rb") as reader:
                self._session(connection, reader)

    def _session(self, connection, reader) -> None:
        connection.sendall(b"220 rude.example ESMTP\r\n")
        while True:
            line = reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                connection.sendall(b"250 rude.example\r\n")
            elif verb == b"DATA":
                connection.sendall(b"354 go on\r\n")
                data = b""
                while (chunk := reader.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.received.append(data)
                connection.sendall(b"250 queued\r\n")
            elif verb == b"QUIT":
                connection.sendall(b"250 bye then\r\n")  # RFC 5321 says 221
                return
            else:
                connection.sendall(b"250 OK\r\n")
