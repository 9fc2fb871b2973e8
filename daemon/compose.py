"""Outgoing mail, composed so that replies find their way back and nothing can be injected.

Every mail gets a fresh Message-ID in the support domain whose local part
carries the ticket number and an HMAC of it: a reply's In-Reply-To that
verifies is ours, whatever its subject says. In-Reply-To and References
continue the customer's thread, and the ticket tag goes into the subject
once. Names and subjects lose control characters before they become header
values, and non-ASCII is encoded by the email package (RFC 2047, or UTF-8
headers when an address itself is internationalised).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from daemon.config import Config
from daemon.tickets import tagged_number

KEY_FILE = "message-id.key"
MAX_REFERENCES = 20  # the nearest ones: enough for any client to thread, never a huge header
_NOT_IN_A_HEADER = {"Cc", "Cs", "Zl", "Zp"}
_REPLY_PREFIX = re.compile(r"^\s*(re|sv|aw|vs|antw|ответ|отв)\s*(\[\d+\])?\s*:\s*", re.IGNORECASE)
_OUR_ID = re.compile(r"^pd\.(\d{1,9})\.([0-9a-f]{12})\.([0-9a-f]{20})@", re.IGNORECASE)


@dataclass(frozen=True)
class Draft:
    """What an outgoing mail says; `compose` turns it into headers and parts."""
    ticket_number: int
    to: tuple[str, str]  # (display name, address)
    sender: tuple[str, str]  # (display name, support address)
    subject: str
    text: str
    html: str | None = None
    in_reply_to: str | None = None  # the customer's Message-ID, without <>
    references: tuple[str, ...] = ()  # the thread so far, oldest first, without <>
    automatic: bool = False  # an auto-reply: Auto-Submitted, never answered by machines


def compose(config: Config, mail: Draft) -> EmailMessage:
    """The mail, ready for the outbox. Its Message-ID is new and signed."""
    domain = mail.sender[1].rpartition("@")[2] or "localhost"
    international = not all(address.isascii() for _, address in (mail.to, mail.sender))
    message = EmailMessage(policy=policy.SMTPUTF8 if international else policy.SMTP)
    message["From"] = _address(*mail.sender)
    message["To"] = _address(*mail.to)
    message["Subject"] = tagged_subject(mail.subject, mail.ticket_number, config.threading.tag_format,
                                        reply=mail.in_reply_to is not None)
    message["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    message["Message-ID"] = new_message_id(config, mail.ticket_number, domain)
    if mail.in_reply_to:
        message["In-Reply-To"] = f"<{_clean_id(mail.in_reply_to)}>"
    thread = [*mail.references, *([mail.in_reply_to] if mail.in_reply_to else [])]
    thread = list(dict.fromkeys(_clean_id(mid) for mid in thread if _clean_id(mid)))[-MAX_REFERENCES:]
    if thread:
        message["References"] = " ".join(f"<{mid}>" for mid in thread)
    if mail.automatic:
        message["Auto-Submitted"] = "auto-replied"  # RFC 3834: machines must not answer it
        message["X-Auto-Response-Suppress"] = "All"  # and Exchange's out-of-office neither
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message


def tagged_subject(subject: str, number: int, tag_format: str, reply: bool) -> str:
    """One line with the ticket tag once (kept where the customer's client left it), and
    one 'Re: ' for a reply, however many prefixes the thread has gathered."""
    line = one_line(subject)
    if reply:
        while _REPLY_PREFIX.match(line):
            line = _REPLY_PREFIX.sub("", line, count=1)
    if tagged_number(line, tag_format) != number:
        line = f"{line} {tag_format.format(ref=number)}".strip()
    return f"Re: {line}" if reply else line


def one_line(text: str) -> str:
    """A header-safe value: control characters (CR and LF among them), line and paragraph
    separators and lone surrogates become spaces, and runs of spaces one."""
    spaced = "".join(" " if unicodedata.category(ch) in _NOT_IN_A_HEADER else ch for ch in text or "")
    return " ".join(spaced.split())


def new_message_id(config: Config, ticket_number: int, domain: str) -> str:
    nonce = secrets.token_hex(6)
    return f"<pd.{ticket_number}.{nonce}.{_mac(config, ticket_number, nonce)}@{domain}>"


def ticket_of_message_id(config: Config, message_id: str | None) -> int | None:
    """The ticket a Message-ID of ours names, if its signature holds; None for anything else."""
    match = _OUR_ID.match(_clean_id(message_id or ""))
    if match is None:
        return None
    number, nonce, mac = int(match.group(1)), match.group(2).lower(), match.group(3).lower()
    return number if hmac.compare_digest(mac, _mac(config, number, nonce)) else None


def _mac(config: Config, number: int, nonce: str) -> str:
    return hmac.new(message_id_key(config), f"{number}.{nonce}".encode(), hashlib.sha256).hexdigest()[:20]


_KEYS: dict[str, bytes] = {}


def message_id_key(config: Config) -> bytes:
    """[support] message_id_secret, else a random key made once and kept in var/ (0600)."""
    if config.support.message_id_secret:
        return config.support.message_id_secret.encode()
    path = Path(config.var_dir) / KEY_FILE
    cached = _KEYS.get(str(path.resolve()))
    if cached is not None:
        return cached
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = _read_key(path)
    else:
        key = secrets.token_hex(32).encode()
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key + b"\n")
    _KEYS[str(path.resolve())] = key
    return key


def _read_key(path: Path) -> bytes:
    # Another process may have created the file a moment ago and not written it yet.
    for _ in range(100):
        key = path.read_bytes().strip()
        if key:
            return key
        time.sleep(0.01)
    raise OSError(f"{path} is empty: delete it, or set [support] message_id_secret")


def _address(name: str, address: str) -> Address:
    local, _, domain = address.strip().rpartition("@")
    return Address(display_name=one_line(name)[:200], username=one_line(local), domain=one_line(domain))


def _clean_id(message_id: str) -> str:
    return one_line(message_id).strip("<> ").replace(" ", "")
