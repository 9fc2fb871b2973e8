"""Reading a delivery report: which mail it is about, and whether delivery failed.

A delivery status notification (RFC 3464) is a multipart/report holding a
human-readable part, a message/delivery-status part (per-recipient Action,
Status and Diagnostic-Code) and the returned mail or its headers
(message/rfc822, text/rfc822-headers). Many servers still send the older,
free-form bounce ("This is the mail system at host ...", qmail's "Below
this line is a copy of the message") with the returned headers as plain
text. Both name the Message-ID of the mail that failed: that is how a
bounce finds the outbound mail it is about.
"""
from __future__ import annotations

import base64
import email
import quopri
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message

_MAX_PARTS = 200
# Parts the parser gives sub-messages that are not MIME parts of the report itself.
_LEAVES = ("message/rfc822", "message/global", "message/delivery-status", "message/global-delivery-status")
_MAX_TEXT = 1_000_000  # the returned mail can be large; its headers are at its start
# At the start of a line: a returned header, never one quoted in a reply ("> Message-ID: ...").
_MESSAGE_ID_LINE = re.compile(rb"(?im)^[ \t]*message-id:[ \t]*(?:\r?\n[ \t]+)?<([^<>\s]{1,900})>")


@dataclass
class Recipient:
    address: str
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str = ""  # e.g. 5.1.1
    diagnostic: str = ""  # the remote server's words


@dataclass
class Report:
    message_ids: list[str] = field(default_factory=list)  # of the returned mail(s), without <>
    recipients: list[Recipient] = field(default_factory=list)
    structured: bool = False  # a message/delivery-status part was read

    @property
    def failed(self) -> bool:
        """Delivery failed for someone; a report of delay or success only says not."""
        if self.structured:
            return any(r.action == "failed" for r in self.recipients)
        return True  # a free-form bounce is sent for failures

    def describe(self) -> str:
        """One line: who failed and the server's words."""
        failed = [r for r in self.recipients if r.action == "failed"] or self.recipients
        parts = []
        for r in failed[:5]:
            status = r.status if r.status and r.status not in r.diagnostic else ""
            words = " ".join(x for x in (status, r.diagnostic) if x)
            parts.append(f"{r.address}: {words}" if words else r.address)
        return "; ".join(parts)[:2000] or "delivery failed"


def read_report(raw: bytes, top: Message | None = None) -> Report:
    """What a delivery report says; an empty Report for mail that is none."""
    top = top if top is not None else email.message_from_bytes(raw, policy=policy.compat32)
    report = Report()
    ids: list[bytes] = []
    for part in _parts(top):
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            report.structured = True
            report.recipients += _recipients(part)
        elif ctype in ("message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"):
            ids += _ids_in(_returned_bytes(part))
    if not ids:  # a free-form bounce quotes the returned headers in its text
        body_start = _body_offset(raw)
        ids = _ids_in(raw[body_start:body_start + _MAX_TEXT])
    report.message_ids = list(dict.fromkeys(i.decode("ascii", "replace") for i in ids))
    return report


def _parts(top: Message):
    stack, seen = [top], 0
    while stack and seen < _MAX_PARTS:
        part = stack.pop(0)
        seen += 1
        yield part
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list) \
                and part.get_content_type() not in _LEAVES:
            stack.extend(sub for sub in payload if isinstance(sub, Message))


def _recipients(part: Message) -> list[Recipient]:
    """The per-recipient blocks of a delivery-status part (the first block is per-message)."""
    blocks = part.get_payload()
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding in ("base64", "quoted-printable"):  # the parser split the encoded text, not the fields
        blocks = _blocks(_decoded_text(part, encoding))
    elif not isinstance(blocks, list):  # an unusual part: read its text as blocks
        blocks = _blocks(_decoded(part))
    found = []
    for block in blocks:
        if not isinstance(block, Message):
            continue
        recipient = block.get("Final-Recipient") or block.get("Original-Recipient")
        action = (block.get("Action") or "").strip().lower()
        if not recipient or not action:
            continue
        found.append(Recipient(address=_address_of(str(recipient)), action=action.split()[0],
                               status=" ".join(str(block.get("Status") or "").split())[:20],
                               diagnostic=_diagnostic(str(block.get("Diagnostic-Code") or ""))))
    return found


def _blocks(text: str) -> list[Message]:
    return [email.message_from_string(chunk.strip("\r\n")) for chunk in re.split(r"\r?\n[ \t]*\r?\n", text)
            if chunk.strip()]


def _decoded_text(part: Message, encoding: str) -> str:
    """The text of an encoded delivery-status part (the parser cut its encoded text into 'blocks')."""
    payload = part.get_payload()
    body = "\n\n".join(block.as_string() for block in payload) if isinstance(payload, list) else str(payload)
    try:
        data = base64.b64decode("".join(body.split())) if encoding == "base64" \
            else quopri.decodestring(body.encode("ascii", "replace"))
    except (ValueError, TypeError):
        return ""
    return data.decode("utf-8", "replace")


def _returned_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list):  # message/rfc822: the parser made it a Message
        inner = payload[0] if payload else None
        if isinstance(inner, Message):
            return "".join(f"{k}: {v}\n" for k, v in inner.items()).encode("utf-8", "surrogateescape")
        return b""
    decoded = part.get_payload(decode=True)
    return decoded[:_MAX_TEXT] if isinstance(decoded, bytes) else b""


def _decoded(part: Message) -> str:
    data = part.get_payload(decode=True)
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(part.get_payload())


def _ids_in(data: bytes) -> list[bytes]:
    return [match.group(1) for match in _MESSAGE_ID_LINE.finditer(data)]


def _body_offset(raw: bytes) -> int:
    for separator in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(separator)
        if at >= 0:
            return at + len(separator)
    return len(raw)


def _address_of(value: str) -> str:
    """`rfc822; user@example.org` -> user@example.org."""
    return value.split(";", 1)[-1].strip().strip("<>")[:320]


def _diagnostic(value: str) -> str:
    """`smtp; 550 5.1.1 <x@y>: Recipient address rejected` -> the server's words, on one line."""
    words = " ".join(value.split())
    kind, separator, rest = words.partition(";")
    return (rest.strip() if separator and kind.strip().lower() in ("smtp", "x-unix", "x-postfix") else words)[:500]
