"""Message ids from Message-ID, In-Reply-To and References headers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from daemon.mail.cleaners import ascii_header

_MSGID_RE = re.compile(r"<([^<>]*)>")
_CONTROLS_RE = re.compile(r"[\x00-\x20\x7f]")
# Real ids are well under 100 characters; a longer one is stored as its digest.
MAX_ID_LENGTH = 500


def _normal(message_id: str) -> str:
    """An id safe to store and compare: no controls or spaces, bounded length."""
    message_id = _CONTROLS_RE.sub("", message_id).strip("<>\"'")
    if len(message_id) > MAX_ID_LENGTH:
        digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()
        return f"sha256-{digest}@long-id.invalid"
    return message_id


def message_ids(values: Iterable[str]) -> tuple[str, ...]:
    """Message ids (without <>) found in header values, in order, without repeats."""
    found: dict[str, None] = {}
    for value in values:
        text = ascii_header(value)
        ids = _MSGID_RE.findall(text) or [token for token in text.split() if "@" in token]
        for message_id in ids:
            message_id = _normal(message_id)
            if message_id:
                found.setdefault(message_id, None)
    return tuple(found)


def message_id(value: str | None) -> str | None:
    """The Message-ID without <>, or None when missing or blank."""
    if value is None:
        return None
    ids = message_ids([value])
    if ids:
        return ids[0]
    # An id without '@' or brackets ("12345") is still the sender's id.
    tokens = ascii_header(value).split()
    return (_normal(tokens[0]) or None) if tokens else None


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID_HEADER = re.compile(rb"^message-id:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
# The header section a peek reads at most: Message-ID sits near the top of real mail.
_PEEK_BYTES = 65536


def peek_message_id(raw: bytes) -> str | None:
    """The Message-ID of raw mail bytes, from its header section alone, as `message_id` gives it;
    for edges that must not parse the mail but want to know which one it is."""
    head = raw[:_PEEK_BYTES]
    end = _HEADER_END.search(head)
    found = _MESSAGE_ID_HEADER.search(head[: end.start()] if end else head)
    if found is None:
        return None
    return message_id(found.group(1).decode("latin-1"))
