"""A real SMTP relay for the outbound tests: an aiosmtpd server on loopback that records
what it accepts, can answer with a chosen code, can be stopped and started again on the
same port (a relay that is down for a while), and can answer every mail it gets, as an
auto-responder would."""
from __future__ import annotations

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

    def __init__(self):
        self.port = free_port()
        self.received: list[tuple[str, list[str], bytes]] = []
        self.reply: str | None = None
        self.responder = None
        self.answer_to: tuple[str, int] | None = None
        self.answered = 0
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server, session, envelope):
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
