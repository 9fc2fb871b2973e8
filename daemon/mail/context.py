"""Per-mail state shared by the readers: the message, repair notes, caches."""

from __future__ import annotations

from email.message import Message
from functools import cached_property

from daemon.mail import charsets
from daemon.mail.charset_detect import detect_codec
from daemon.mail.mime import content_type_from, first_declared_charset, header_params, payload_bytes

_HINT_SAMPLE = 16384  # bytes of body text looked at to guess the charset of raw 8-bit headers


def _payload_start(part: Message) -> bytes:
    """About the first _HINT_SAMPLE bytes of a part's decoded payload, without decoding the
    rest (a 40 MB part is not decoded to look at 16 KB). Cut at a line end, so base64 and
    quoted-printable stay whole."""
    payload = part._payload
    if not isinstance(payload, str) or len(payload) <= 2 * _HINT_SAMPLE:
        return payload_bytes(part)[:_HINT_SAMPLE]
    start = Message()
    for name in ("Content-Transfer-Encoding",):
        if part.get(name):
            start[name] = part.get(name)
    start.set_payload(payload[:2 * _HINT_SAMPLE].rsplit("\n", 1)[0])
    return payload_bytes(start)[:_HINT_SAMPLE]


class MailContext:
    """One mail being read: its message, repair notes and the charset hint.

    Caches what several steps ask for (part headers, content types, header
    parameters), keyed by part identity; the message must not change while
    the context is in use.
    """

    def __init__(self, message: Message, notes: list[str]) -> None:
        self.message = message
        self.notes = notes
        self.headers: dict[str, list[str]] = {}
        self._params: dict[tuple[int, str], tuple[str, dict[str, str]]] = {}
        self._part_headers: dict[int, dict[str, str]] = {}
        self._content_types: dict[int, str] = {}
        for name, value in message._headers:  # what raw_items() would copy
            self.headers.setdefault(name.lower(), []).append(value if isinstance(value, str) else str(value))
        self._part_headers[id(message)] = {name: values[0] for name, values in self.headers.items()}

    @cached_property
    def hint(self) -> str | None:
        """The best guess for raw 8-bit headers: the first declared charset in the mail,
        else the charset detected in its first 8-bit text part (a body says more than
        the three accented letters of a subject)."""
        return first_declared_charset(self.message) or self._detected_body_charset()

    def _detected_body_charset(self) -> str | None:
        stack = [self.message]
        while stack:
            part = stack.pop()
            payload = part._payload  # compat32 keeps sub-parts in a list here
            if isinstance(payload, list):
                stack.extend(reversed([sub for sub in payload if isinstance(sub, Message)]))
                continue
            if self.content_type(part) not in ("text/plain", "text/html") or self._is_attachment(part):
                continue
            data = _payload_start(part)
            if data.isascii():
                continue
            codec = detect_codec(data)
            return codec if codec not in ("ascii", "utf-8") else None
        return None

    def _is_attachment(self, part: Message) -> bool:
        # Not self.params(): with non-ASCII values it asks for the hint being computed.
        disposition, params = header_params(self.header(part, "content-disposition"), None)
        named = "name" in header_params(self.header(part, "content-type"), None)[1]
        return disposition == "attachment" or "filename" in params or named

    def header(self, part: Message, name: str) -> str | None:
        """The raw value of a part's header (first occurrence); `name` lower-case."""
        headers = self._part_headers.get(id(part))
        if headers is None:
            headers = {}
            for key, value in part._headers:  # what raw_items() would copy
                headers.setdefault(key.lower(), value if isinstance(value, str) else str(value))
            self._part_headers[id(part)] = headers
        return headers.get(name)

    def content_type(self, part: Message) -> str:
        """mime.content_type_of(part), cached."""
        ctype = self._content_types.get(id(part))
        if ctype is None:
            ctype = self._content_types[id(part)] = content_type_from(self.header(part, "content-type"), part)
        return ctype

    def params(self, part: Message, header: str) -> tuple[str, dict[str, str]]:
        """A part's header value and parameters (cached: several steps ask)."""
        key = (id(part), header)
        if key not in self._params:
            value = self.header(part, header)
            hint = self.hint if value is not None and not value.isascii() else None
            self._params[key] = header_params(value, hint)
        return self._params[key]

    def first(self, name: str) -> str | None:
        """The raw value of the message's first `name` header (lower-case name)."""
        values = self.headers.get(name)
        return values[0] if values else None

    def decode(self, value: str, header: str) -> str:
        """Decode a header value, recording notes about repairs."""
        hint = None if value.isascii() else self.hint
        text, notes = charsets.decode_header_with_notes(value, hint)
        self.notes.extend(f"header {header!r}: {note}" for note in notes)
        # Folding is already undone, so a line break here came out of an encoded word.
        if "\r" in text or "\n" in text:
            self.notes.append(f"header {header!r} had CR/LF inside an encoded word")
        return text
