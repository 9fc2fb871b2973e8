"""Raw RFC 5322 bytes -> ParsedMail.

Uses the stdlib parser with the compat32 policy (the modern policy is an
order of magnitude slower) and does all decoding itself, because compat32
leaves charsets, encoded words and broken structure to the caller and the
stdlib helpers raise on the unknown labels real mail carries.

The work is split by idea: nesting (a depth limit applied before parsing),
mime (parameters, types, payloads), body (text, HTML and file parts),
attachments, addresses, dates and msgids.  This module ties them together.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email import errors
from email.message import Message
from email.parser import BytesParser

from daemon.mail import charsets
from daemon.mail.addresses import addr_spec, split_addresses
from daemon.mail.attachments import Attachment, attachments
from daemon.mail.body import extract_body
from daemon.mail.boundaries import repair_multiparts
from daemon.mail.classify import classify
from daemon.mail.cleaners import clean_text, one_line
from daemon.mail.context import MailContext
from daemon.mail.dates import parse_date
from daemon.mail.htmltext import sanitise
from daemon.mail.msgids import message_id, message_ids
from daemon.mail.nesting import limit_nesting
from daemon.mail.quotes import strip_quoted

__all__ = ["Address", "Attachment", "MailUnparseable", "ParsedMail", "parse"]


class MailUnparseable(Exception):
    """The input is not a mail at all (empty, or no header section)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Address:
    name: str
    addr: str

    @property
    def key(self) -> str:
        """The address folded for case-insensitive lookups."""
        return self.addr.lower()


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: datetime | None
    text: str
    visible_text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    automatic: str | None
    notes: tuple[str, ...]
    size: int


_PARSER = BytesParser(policy=email.policy.compat32)
_FIRST_HEADER_RE = re.compile(rb"(?:From |[\041-\071\073-\176]+:)")


def parse(raw: bytes, *, now: datetime | None = None, max_depth: int = 50) -> ParsedMail:
    """Parse raw mail bytes into a ParsedMail.

    Never raises for any input except MailUnparseable, for input that is not
    a mail at all (empty, binary junk, no header section).  Everything that
    had to be repaired on the way is listed in ParsedMail.notes.
    """
    raw = _as_bytes(raw)
    start = _header_start(raw)
    limited, dropped = limit_nesting(raw[start:], max(1, max_depth))
    message = _parse_bytes(limited)
    if not message.keys():
        raise MailUnparseable("no header section: the input does not start with mail headers")
    notes: list[str] = []
    if dropped:
        notes.append(f"MIME nesting deeper than {max_depth} levels; inner parts dropped")
    if _has_unclosed_multipart(message):
        notes.append("a multipart has no closing boundary; the mail may be truncated")
    try:
        repair_multiparts(message, notes)
        return _build(message, raw, now, notes)
    except RecursionError as error:
        raise MailUnparseable(f"structure too deep to read: {error}") from None
    except Exception as error:  # noqa: BLE001 - a bug here must not crash intake
        raise MailUnparseable(f"could not read the mail ({type(error).__name__}: {error})") from None


def _as_bytes(raw: object) -> bytes:
    """Accept any bytes-like input (and, leniently, str)."""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    if isinstance(raw, (bytearray, memoryview)):
        return bytes(raw)
    raise MailUnparseable(f"input is {type(raw).__name__}, not bytes")


def _header_start(raw: bytes) -> int:
    """Offset of the header section; raises MailUnparseable when there is none."""
    if not raw.strip():
        raise MailUnparseable("empty input")
    # A few stray line breaks before the headers are harmless; skip them.
    start = len(raw) - len(raw.lstrip(b"\r\n"))
    if not _FIRST_HEADER_RE.match(raw, start):
        raise MailUnparseable("no header section: the input does not start with mail headers")
    return start


def _parse_bytes(data: bytes) -> Message:
    """Run the stdlib parser; a pathological input it cannot take is unparseable."""
    try:
        return _PARSER.parsebytes(data)
    except RecursionError:
        limited, _ = limit_nesting(data, 10)
        try:
            return _PARSER.parsebytes(limited)
        except Exception as error:  # noqa: BLE001
            raise MailUnparseable(f"MIME structure cannot be parsed: {type(error).__name__}") from None
    except Exception as error:  # noqa: BLE001 - the stdlib parser should not raise, but be sure
        raise MailUnparseable(f"MIME structure cannot be parsed: {type(error).__name__}: {error}") from None


def _has_unclosed_multipart(message: Message) -> bool:
    """Whether the stdlib parser reported a missing closing boundary anywhere."""
    stack = [message]
    while stack:
        part = stack.pop()
        if any(isinstance(defect, errors.CloseBoundaryNotFoundDefect) for defect in part.defects):
            return True
        payload = part._payload  # compat32 keeps sub-parts in a list
        if isinstance(payload, list):
            stack.extend(sub for sub in payload if isinstance(sub, Message))
    return False


# ---------------------------------------------------------------------------
# Building the ParsedMail.


def _build(message: Message, raw: bytes, now: datetime | None, notes: list[str]) -> ParsedMail:
    """Assemble the ParsedMail from a parsed message."""
    ctx = MailContext(message, notes)
    from_ = _address_header(ctx, "from", "From")
    reply_to = _address_header(ctx, "reply-to", "Reply-To")
    sender = _sender(ctx, from_, reply_to)
    body = extract_body(ctx)
    return ParsedMail(
        message_id=message_id(ctx.first("message-id")),
        in_reply_to=message_ids(ctx.headers.get("in-reply-to", ())),
        references=message_ids(ctx.headers.get("references", ())),
        sender=sender,
        reply_to=tuple(reply_to),
        to=tuple(_address_header(ctx, "to", "To")),
        cc=tuple(_address_header(ctx, "cc", "Cc")),
        subject=one_line(ctx.decode(ctx.first("subject") or "", "Subject")),
        date=parse_date(ctx.first("date"), now),
        text=body.text,
        visible_text=_visible(body.text),
        html=None if body.html is None else clean_text(sanitise(body.html)),
        attachments=tuple(attachments(body.files, ctx)),
        automatic=classify(message),
        notes=tuple(dict.fromkeys(notes)),
        size=len(raw),
    )


def _sender(ctx: MailContext, from_: list[Address], reply_to: list[Address]) -> Address | None:
    """Who wrote the mail: the first From address, else Reply-To, else Sender, else Return-Path.

    Return-Path is added by the delivering server (so mail fetched over IMAP
    has it); its null path "<>" (bounces) names nobody. A header whose address
    is not a mail address ('From: John') gives way to a later one that is.
    """
    first = None
    for found in (from_, reply_to, "sender", "return-path"):
        if isinstance(found, str):  # read only when the headers before named no usable address
            found = _address_header(ctx, found, found.title())
        if found and addr_spec(found[0].addr) is not None:
            return found[0]
        first = first or (found[0] if found else None)
    return first


def _address_header(ctx: MailContext, key: str, name: str) -> list[Address]:
    """All addresses in every occurrence of a header."""
    found: list[Address] = []
    for value in ctx.headers.get(key, ()):
        for display, addr in split_addresses(charsets.unfold(value)):
            address = _make_address(ctx, display, addr, name)
            if address is not None:
                found.append(address)
    return found


def _make_address(ctx: MailContext, display: str, addr: str, header: str) -> Address | None:
    """Decode one (display name, address) pair; None when there is no address."""
    if not addr.isascii():
        # SMTPUTF8 mail carries raw UTF-8 addresses.
        addr, _ = charsets.decode_raw_header_bytes(addr.encode("utf-8", "surrogateescape"), ctx.hint)
    # A valid addr-spec is kept as written (a quoted local part keeps its quotes and spaces);
    # anything else is tidied the old way and left for the sending side to refuse.
    spec = addr_spec(addr.strip("<> \t"))
    if spec is None:
        spec = one_line("".join(addr.split()).strip("<>\"'")).replace(" ", "")
    if not spec:
        return None
    name = one_line(ctx.decode(display, header)) if display else ""
    return Address(name=name.strip("\"' "), addr=spec)


def _visible(text: str) -> str:
    """The text without quoted history; falls back to the whole text."""
    try:
        visible = strip_quoted(text)
    except Exception:  # noqa: BLE001 - display nicety only
        return text
    return visible if visible.strip() else text
