"""Raw RFC 5322 bytes -> ParsedMail.

Uses the stdlib parser with the compat32 policy (the modern policy is an
order of magnitude slower) and does all decoding itself, because compat32
leaves charsets, encoded words and broken structure to the caller and the
stdlib helpers raise on the unknown labels real mail carries.
"""

from __future__ import annotations

import binascii
import io
import email.policy
from email import errors
import email.utils
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.parser import BytesParser
from functools import cached_property
from urllib.parse import unquote_to_bytes

from daemon.mail import charsets
from daemon.mail.classify import classify
from daemon.mail.htmltext import html_to_text, sanitise
from daemon.mail.names import safe_filename
from daemon.mail.quotes import strip_quoted


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
        return self.addr.casefold()


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None
    inline: bool


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
# What the stdlib feed parser accepts as a header line (email.feedparser.headerRE).
_HEADER_LINE_RE = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")
_FIRST_HEADER_RE = re.compile(rb"(?:From |[\041-\071\073-\176]+:)")
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


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


# ---------------------------------------------------------------------------
# Nesting limit.  The stdlib parser recurses once per MIME level (and slows
# down quadratically); past ~900 levels it raises RecursionError.  So the raw
# bytes are pre-scanned, emulating the feed parser's boundary rules, and the
# bodies of containers deeper than the limit are cut out before parsing.


@dataclass
class _Level:
    boundary: str | None  # None for a message/* level
    digest: bool = False


def limit_nesting(raw: bytes, max_depth: int) -> tuple[bytes, bool]:
    """Cut out the bodies of MIME containers nested deeper than max_depth.

    Returns (bytes to parse, whether anything was cut).  Typical mail has a
    handful of containers and returns unchanged without a scan.
    """
    # Each container needs a boundary= or message/ (a digest level at most two).
    lowered = raw.lower()
    if 2 * (lowered.count(b"boundary") + lowered.count(b"message/")) <= max_depth:
        return raw, False
    cuts = _NestingScanner(raw.decode("ascii", "surrogateescape"), max_depth).cuts()
    if not cuts:
        return raw, False
    kept, position = [], 0
    for start, end in cuts:
        kept.append(raw[position:start])
        position = end
    kept.append(raw[position:])
    return b"".join(kept), True


class _NestingScanner:
    """Follows MIME structure line by line, like email.feedparser, without recursion."""

    def __init__(self, text: str, max_depth: int) -> None:
        # Split exactly as the feed parser does: at \r\n, \r or \n only.
        self.lines = io.StringIO(text, newline="").readlines()
        self.max_depth = max_depth
        self.stack: list[_Level] = []
        self.boundaries: dict[str, int] = {}
        self.found: list[tuple[int, int]] = []

    def cuts(self) -> list[tuple[int, int]]:
        """Byte ranges (start, end) to remove."""
        in_headers, header_lines, digest_parent = True, [], False
        cut_start: int | None = None
        offset, index = 0, 0
        while index < len(self.lines):
            line = self.lines[index]
            line_start, offset, index = offset, offset + len(line), index + 1
            hit = self._boundary_hit(line) if line.startswith("--") else None
            if hit is not None:
                if cut_start is not None:
                    self.found.append((cut_start, line_start))
                    cut_start = None
                digest_parent = self._enter_boundary(*hit)
                in_headers, header_lines = not hit[1], []
                continue
            if cut_start is not None or not in_headers:
                continue
            if _HEADER_LINE_RE.match(line):
                header_lines.append(line)
                continue
            blank = line in ("\n", "\r\n", "\r")
            body_start = offset if blank else line_start
            in_headers, cut_start = self._end_of_headers(header_lines, digest_parent, body_start)
            header_lines, digest_parent = [], False
            if not blank and in_headers:
                offset, index = line_start, index - 1  # the line starts the nested message
        if cut_start is not None:
            self.found.append((cut_start, offset))
        return self.found

    def _boundary_hit(self, line: str) -> tuple[int, bool] | None:
        """(stack index, is closing) when the line is a boundary of an open multipart."""
        core = line.rstrip("\r\n").rstrip(" \t")[2:]
        if core in self.boundaries:
            return self.boundaries[core], False
        if core.endswith("--") and core[:-2] in self.boundaries:
            return self.boundaries[core[:-2]], True
        return None

    def _enter_boundary(self, level_index: int, closing: bool) -> bool:
        """Close inner levels at a boundary; returns whether the parent is a digest."""
        level = self.stack[level_index]
        del self.stack[level_index + 1:]
        if closing:
            self.stack.pop()
        self._reindex()
        return level.digest and not closing

    def _end_of_headers(self, header_lines: list[str], digest_parent: bool,
                        body_start: int) -> tuple[bool, int | None]:
        """Decide what the entity is; returns (nested headers follow, cut start)."""
        maintype, subtype, boundary = _scan_content_type(header_lines, digest_parent)
        is_container = (maintype == "multipart" and boundary is not None) or (
            maintype == "message" and subtype != "delivery-status")
        if not is_container:
            return False, None
        if len(self.stack) >= self.max_depth:
            return False, body_start
        if maintype == "multipart":
            self.stack.append(_Level(boundary, digest=subtype == "digest"))
            self._reindex()
            return False, None
        self.stack.append(_Level(None))
        return True, None

    def _reindex(self) -> None:
        self.boundaries = {level.boundary: i for i, level in enumerate(self.stack) if level.boundary is not None}


_BOUNDARY_PARAM_RE = re.compile(r"""(?i)[;\s]boundary\s*=\s*(?:"([^"]*)"|([^\s;]+))""")


def _scan_content_type(header_lines: list[str], digest_parent: bool) -> tuple[str, str, str | None]:
    """(maintype, subtype, boundary) of an entity, the way compat32 reads them."""
    value = None
    for position, line in enumerate(header_lines):
        if line[:13].lower() == "content-type:":
            value = line[13:]
            for continuation in header_lines[position + 1:]:
                if not continuation[:1] in (" ", "\t"):
                    break
                value += continuation
            break
    if value is None:
        return ("message", "rfc822", None) if digest_parent else ("text", "plain", None)
    ctype = value.split(";", 1)[0].strip().lower()
    if ctype.count("/") != 1:
        return "text", "plain", None
    maintype, subtype = ctype.split("/")
    match = _BOUNDARY_PARAM_RE.search(value.replace("\r", " ").replace("\n", " "))
    boundary = None
    if match:
        boundary = (match.group(1) if match.group(1) is not None else match.group(2)).rstrip()
    return maintype, subtype, boundary


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


class _Context:
    """Per-mail state: the message, repair notes and the charset hint."""

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
        """The first declared charset in the mail: the best guess for raw 8-bit headers."""
        return first_declared_charset(self.message)

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
        """content_type_of(part), cached."""
        ctype = self._content_types.get(id(part))
        if ctype is None:
            ctype = self._content_types[id(part)] = _content_type_from(self.header(part, "content-type"), part)
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


def _build(message: Message, raw: bytes, now: datetime | None, notes: list[str]) -> ParsedMail:
    """Assemble the ParsedMail from a parsed message."""
    ctx = _Context(message, notes)
    from_ = _address_header(ctx, "from", "From")
    reply_to = _address_header(ctx, "reply-to", "Reply-To")
    sender_candidates = from_ or reply_to or _address_header(ctx, "sender", "Sender")
    sender = sender_candidates[0] if sender_candidates else None
    extractor = _BodyExtractor(ctx)
    body = extractor.extract()
    text = _body_text(body, extractor)
    html_source = _join_html(body, extractor)
    return ParsedMail(
        message_id=_message_id(ctx.first("message-id")),
        in_reply_to=message_ids(ctx.headers.get("in-reply-to", ())),
        references=message_ids(ctx.headers.get("references", ())),
        sender=sender,
        reply_to=tuple(reply_to),
        to=tuple(_address_header(ctx, "to", "To")),
        cc=tuple(_address_header(ctx, "cc", "Cc")),
        subject=one_line(ctx.decode(ctx.first("subject") or "", "Subject")),
        date=parse_date(ctx.first("date"), now),
        text=text,
        visible_text=_visible(text),
        html=None if html_source is None else _clean_text(sanitise(html_source)),
        attachments=tuple(_attachments(body.files, ctx)),
        automatic=classify(message),
        notes=tuple(dict.fromkeys(notes)),
        size=len(raw),
    )


def one_line(text: str) -> str:
    """Text on one line: controls and line breaks become spaces, runs collapse."""
    if text.isprintable():  # no controls, separators or lone surrogates: only spaces to collapse
        return " ".join(text.split())
    return " ".join(_CONTROL_RE.sub(" ", _without_surrogates(text)).split())


def _without_surrogates(text: str) -> str:
    """Lone surrogates (undecoded bytes) replaced, so the text can be stored as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE_RE.sub("\ufffd", text)
    return text


def _clean_text(text: str) -> str:
    """Text safe to store: no NUL (PostgreSQL rejects it), no lone surrogates."""
    return _without_surrogates(text.replace("\x00", ""))


def _visible(text: str) -> str:
    """The text without quoted history; falls back to the whole text."""
    try:
        visible = strip_quoted(text)
    except Exception:  # noqa: BLE001 - display nicety only
        return text
    return visible if visible.strip() else text


# ---------------------------------------------------------------------------
# Message ids.

_MSGID_RE = re.compile(r"<([^<>]*)>")


def message_ids(values) -> tuple[str, ...]:
    """Message ids (without <>) found in header values, in order, without repeats."""
    found: dict[str, None] = {}
    for value in values:
        text = _ascii_header(value)
        ids = _MSGID_RE.findall(text) or [token for token in text.split() if "@" in token]
        for message_id in ids:
            message_id = "".join(message_id.split()).strip("<>\"'")
            if message_id:
                found.setdefault(message_id, None)
    return tuple(found)


def _message_id(value: str | None) -> str | None:
    """The Message-ID without <>, or None when missing or blank."""
    if value is None:
        return None
    ids = message_ids([value])
    if ids:
        return ids[0]
    # An id without '@' or brackets ("12345") is still the sender's id.
    tokens = _ascii_header(value).split()
    return (tokens[0].strip("<>") or None) if tokens else None


def _ascii_header(value: str) -> str:
    """A header value as str; stray 8-bit bytes decoded as UTF-8 with replacement."""
    value = charsets.unfold(value)
    if value.isascii():
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# Dates.

_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -300, "edt": -240, "cst": -360,
          "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420, "cet": 60,
          "cest": 120, "msk": 180}
_DATE_RE = re.compile(
    r"\s*(?:[A-Za-z]+\.?\s*,?\s*)?(\d{1,2})[\s-]+([A-Za-z]{3,})\.?[\s-]+(\d{1,4})\s+"
    r"(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?\s*(?:([+-])(\d{2}):?(\d{2})|([A-Za-z]{1,5})\b)?")
_EARLIEST = datetime(1980, 1, 1, tzinfo=timezone.utc)


def parse_date(value: str | None, now: datetime | None = None) -> datetime | None:
    """A Date header as an aware UTC datetime; None if missing, unreadable or absurd.

    Absurd means before 1980-01-01 or more than two days after `now`.
    """
    if not value:
        return None
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    text = one_line(_ascii_header(value))
    parsed = _rfc5322_date(text)
    if parsed is None:
        parsed = _lenient_date(text)
    if parsed is None or parsed < _EARLIEST or parsed > now + timedelta(days=2):
        return None
    return parsed


def _rfc5322_date(text: str) -> datetime | None:
    """Read the usual 'Mon, 2 Jan 2026 10:00:00 +0100' shape; None if not that shape."""
    match = _DATE_RE.match(text)
    if not match or match.group(2)[:3].lower() not in _MONTHS:
        return None
    day, month_name, year_text, hour, minute, second, sign, tz_h, tz_m, zone = match.groups()
    year = _full_year(year_text)
    try:
        local = datetime(year, _MONTHS[month_name[:3].lower()], int(day), int(hour), int(minute),
                         min(int(second or 0), 59), tzinfo=_zone(sign, tz_h, tz_m, zone))
        return local.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return _EARLIEST - timedelta(days=1)  # the right shape with impossible values: absurd


def _full_year(text: str) -> int:
    """RFC 5322 obsolete years: two digits are 19xx/20xx, three are 1900+; one digit is absurd."""
    year = int(text)
    if len(text) == 2:
        return year + (2000 if year < 50 else 1900)
    if len(text) == 3:
        return year + 1900
    return year if len(text) == 4 else 0


def _zone(sign: str | None, hours: str | None, minutes: str | None, name: str | None) -> timezone:
    """The time zone of a date; unknown or impossible zones count as UTC."""
    offset = 0
    if sign and int(hours) < 24 and int(minutes) < 60:
        offset = (int(hours) * 60 + int(minutes)) * (-1 if sign == "-" else 1)
    elif name:
        offset = _ZONES.get(name.lower(), 0)
    return timezone(timedelta(minutes=offset))


def _lenient_date(text: str) -> datetime | None:
    """Other shapes: whatever the stdlib or ISO 8601 can read."""
    try:
        parts = email.utils.parsedate_tz(text)
    except Exception:  # noqa: BLE001
        parts = None
    try:
        if parts and len(re.findall(r"\d{4}", text)):
            stamp = datetime(*parts[:6], tzinfo=timezone(timedelta(seconds=parts[9] or 0)))
            return stamp.astimezone(timezone.utc)
        stamp = datetime.fromisoformat(text.strip())
    except (ValueError, OverflowError, TypeError):
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc)


# ---------------------------------------------------------------------------
# Addresses.


def _address_header(ctx: _Context, key: str, name: str) -> list[Address]:
    """All addresses in every occurrence of a header."""
    found: list[Address] = []
    for value in ctx.headers.get(key, ()):
        for display, addr in split_addresses(charsets.unfold(value)):
            address = _make_address(ctx, display, addr, name)
            if address is not None:
                found.append(address)
    return found


def _make_address(ctx: _Context, display: str, addr: str, header: str) -> Address | None:
    """Decode one (display name, address) pair; None when there is no address."""
    addr = "".join(addr.split()).strip("<>\"'")
    if not addr:
        return None
    if not addr.isascii():
        # SMTPUTF8 mail carries raw UTF-8 addresses.
        addr, _ = charsets.decode_raw_header_bytes(addr.encode("utf-8", "surrogateescape"), ctx.hint)
    name = one_line(ctx.decode(display, header)) if display else ""
    return Address(name=name.strip("\"' "), addr=one_line(addr).replace(" ", ""))


def split_addresses(value: str) -> list[tuple[str, str]]:
    """Split an address list into (raw display name, raw address) pairs.

    Tolerant of what mailers write: quoted names with commas, comments,
    groups ("undisclosed-recipients:;"), missing angle brackets.
    """
    pairs = []
    for element in _split_top_level(value):
        pair = _name_and_addr(element.strip())
        if pair is not None:
            pairs.append(pair)
    return pairs


def _split_top_level(value: str) -> list[str]:
    """Split at commas/semicolons outside quotes, comments and angle brackets."""
    if not any(ch in value for ch in '"(\\:;'):
        return value.split(",")  # the common case needs no scanning
    elements, current = [], []
    quoted, escaped, comment, angle = False, False, 0, False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\" and (quoted or comment):
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif comment:
            comment += {"(": 1, ")": -1}.get(ch, 0)
        elif ch == '"':
            quoted = True
        elif ch == "(":
            comment = 1
        elif ch in "<>":
            angle = ch == "<"
        elif ch in ",;" and not angle:
            elements.append("".join(current))
            current = []
            continue
        elif ch == ":" and not angle and "@" not in "".join(current):
            current = []  # a group name: "Team: a@x, b@y;"
            continue
        current.append(ch)
    elements.append("".join(current))
    return elements


_COMMENT_RE = re.compile(r"\(((?:[^()\\]|\\.)*)\)")
_QUOTED_RE = re.compile(r'"((?:[^"\\]|\\.)*)"?')


def _name_and_addr(element: str) -> tuple[str, str] | None:
    """One list element as (display name, address)."""
    if not element:
        return None
    angle = _angle_position(element)
    if angle is not None:
        addr, _, after = element[angle + 1:].partition(">")
        return _unquote(element[:angle].strip()) or _comment_text(after), addr
    comments = _COMMENT_RE.findall(element)
    bare = _COMMENT_RE.sub(" ", element).split()
    if not bare:
        return None
    at_tokens = [token for token in bare if "@" in token]
    if at_tokens:
        addr = at_tokens[-1]
        rest = [token for token in bare if token is not addr]
        name = _unquote(" ".join(rest)) or (_unescape(comments[0]).strip() if comments else "")
        return name, addr
    if len(bare) == 1:
        return (_unescape(comments[0]).strip() if comments else ""), bare[0]
    return None


def _angle_position(element: str) -> int | None:
    """Index of the '<' opening the address, ignoring any inside quoted strings."""
    if "<" not in element:
        return None
    if '"' not in element:
        return element.index("<")
    quoted = escaped = False
    for index, ch in enumerate(element):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            return index
    return None


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _unquote(text: str) -> str:
    """Replace quoted strings by their content."""
    return _QUOTED_RE.sub(lambda m: _unescape(m.group(1)), text).strip()


def _comment_text(text: str) -> str:
    comments = _COMMENT_RE.findall(text)
    return _unescape(comments[0]).strip() if comments else ""


# ---------------------------------------------------------------------------
# MIME parameters (RFC 2045 and RFC 2231).

_PARAM_RE = re.compile(r';\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)')
_SECTION_RE = re.compile(r"([^*]+)\*(\d+)?(\*)?")


def header_params(value: str | None, hint: str | None = None) -> tuple[str, dict[str, str]]:
    """Split 'type/sub; a=b; c*=utf-8''x' into (lower-cased value, decoded params).

    RFC 2231 continuations and charsets are assembled; RFC 2047 words and
    raw 8-bit bytes in plain values are decoded too (common, if not allowed).
    """
    if not value:
        return "", {}
    if ";" not in value:
        return value.strip().lower(), {}
    value = charsets.unfold(value)
    main = value.split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    sections: dict[str, list[tuple[int, bool, str]]] = {}
    for match in _PARAM_RE.finditer(value):
        name, text = match.group(1).lower(), match.group(2).strip()
        if text.startswith('"'):
            text = _unescape(text[1:-1] if text.endswith('"') and len(text) > 1 else text[1:])
        section = _SECTION_RE.fullmatch(name)
        if section:
            number = int(section.group(2)) if section.group(2) else 0
            encoded = section.group(2) is None or bool(section.group(3))
            sections.setdefault(section.group(1), []).append((number, encoded, text))
        elif name not in params:
            params[name] = charsets.decode_header_value(text, hint) if "=?" in text or not text.isascii() else text
    for name, pieces in sections.items():
        params[name] = _join_rfc2231(pieces, hint)
    return main, params


def _join_rfc2231(pieces: list[tuple[int, bool, str]], hint: str | None) -> str:
    """Assemble name*0*=charset'lang'..., name*1*=... into one decoded string."""
    pieces.sort(key=lambda piece: piece[0])
    label = None
    data = []
    for position, (_, encoded, text) in enumerate(pieces):
        if encoded and position == 0 and text.count("'") >= 2:
            label, _, text = text.split("'", 2)
        raw = text.encode("utf-8", "surrogateescape")
        data.append(unquote_to_bytes(raw) if encoded else raw)
    joined = b"".join(data)
    if label:
        return charsets.decode_bytes(joined, label)[0]
    return charsets.decode_raw_header_bytes(joined, hint)[0]


def content_type_of(part: Message) -> str:
    """A part's lower-cased type/subtype, exactly as compat32's get_content_type() reads it.

    Reads the raw header: Message.get() is slow and rewrites 8-bit values.
    """
    return _content_type_from(_part_header(part, "content-type"), part)


def _content_type_from(value: str | None, part: Message) -> str:
    if value is None:
        return part.get_default_type()
    ctype = value.split(";", 1)[0].strip().lower()
    return ctype if ctype.count("/") == 1 else "text/plain"


def _part_header(part: Message, name: str) -> str | None:
    """The raw value of a part's header (first occurrence), without compat32 rewriting."""
    # _headers is what raw_items() copies; reading it directly saves a copy per lookup.
    for key, value in part._headers:
        if key.lower() == name:
            return value if isinstance(value, str) else str(value)
    return None


def first_declared_charset(message: Message) -> str | None:
    """The first charset parameter that names a known charset, in tree order."""
    stack = [message]
    while stack:
        part = stack.pop()
        _, params = header_params(_part_header(part, "content-type"))
        label = params.get("charset")
        if label and charsets.python_codec(label) not in (None, "ascii"):
            return label
        payload = part._payload  # compat32 keeps sub-parts in a list here
        if isinstance(payload, list):
            stack.extend(reversed([sub for sub in payload if isinstance(sub, Message)]))
    return None


# ---------------------------------------------------------------------------
# Body and attachments.


@dataclass
class _Found:
    """Parts found under one MIME node, by role."""
    plain: list[Message]
    html: list[Message]
    files: list[Message]


class _BodyExtractor:
    """Walks the MIME tree iteratively (no recursion) and picks the body parts."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.texts: dict[int, str] = {}

    def extract(self) -> _Found:
        """The body parts of the whole message."""
        results: dict[int, _Found] = {}
        stack: list[tuple[Message, bool]] = [(self.ctx.message, False)]
        while stack:
            part, expanded = stack.pop()
            children = _children(part, self.ctx)
            if children and not expanded:
                stack.append((part, True))
                stack.extend((child, False) for child in reversed(children))
                continue
            if children:
                found = self._combine(part, [results.pop(id(child)) for child in children])
            else:
                found = self._leaf(part, part is self.ctx.message)
            results[id(part)] = found
        return results[id(self.ctx.message)]

    def _leaf(self, part: Message, is_root: bool) -> _Found:
        """Classify a leaf part as plain body, HTML body or file."""
        found = _Found([], [], [])
        ctype = self.ctx.content_type(part)
        disposition, disposition_params = self.ctx.params(part, "content-disposition")
        if ctype.startswith("multipart/"):
            # A multipart without usable boundary: its payload is all there is.
            if self.text_of(part).strip():
                found.plain.append(part)
            return found
        has_name = "filename" in disposition_params or "name" in self.ctx.params(part, "content-type")[1]
        is_body_type = ctype in ("text/plain", "text/html")
        if is_body_type and disposition != "attachment" and (is_root or not has_name):
            (found.plain if ctype == "text/plain" else found.html).append(part)
        else:
            found.files.append(part)
        return found

    def _combine(self, part: Message, children: list[_Found]) -> _Found:
        """Merge the findings of a multipart's children according to its subtype."""
        subtype = self.ctx.content_type(part).split("/", 1)[1]
        if subtype == "alternative":
            return self._alternative(children)
        if subtype == "related":
            return _related(part, children, self.ctx)
        return _Found(
            [p for child in children for p in child.plain],
            [p for child in children for p in child.html],
            [p for child in children for p in child.files],
        )

    def _alternative(self, children: list[_Found]) -> _Found:
        """One representation each: the first non-empty plain text, the last HTML."""
        plain = next((child.plain for child in children
                      if any(self.text_of(p).strip() for p in child.plain)), [])
        html = next((child.html for child in reversed(children) if child.html), [])
        return _Found(list(plain), list(html), [p for child in children for p in child.files])

    def text_of(self, part: Message) -> str:
        """The decoded text of a body part (cached), with notes on repairs."""
        key = id(part)
        if key not in self.texts:
            self.texts[key] = self._decode_text(part)
        return self.texts[key]

    def _decode_text(self, part: Message) -> str:
        data = payload_bytes(part, self.ctx.header(part, "content-transfer-encoding"))
        label = self.ctx.params(part, "content-type")[1].get("charset")
        is_html = self.ctx.content_type(part) == "text/html"
        if not label and is_html:
            label = _html_meta_charset(data)
        text, note = charsets.decode_bytes(data, label)
        if note:
            self.ctx.notes.append(f"{'HTML body' if is_html else 'body'} {note}")
        return text


def _children(part: Message, ctx: _Context) -> list[Message]:
    """Sub-parts of a multipart; message/* parts are leaves (attachments)."""
    payload = part._payload  # get_payload() would re-decode; compat32 keeps a list here
    if not isinstance(payload, list) or not ctx.content_type(part).startswith("multipart/"):
        return []
    return [sub for sub in payload if isinstance(sub, Message)]


def _related(part: Message, children: list[_Found], ctx: _Context) -> _Found:
    """multipart/related: the root part is the body, the rest are inline resources."""
    _, params = ctx.params(part, "content-type")
    root = 0
    start = params.get("start", "").strip().strip("<>")
    if start:
        for index, sub in enumerate(_children(part, ctx)):
            if (_content_id(ctx.header(sub, "content-id")) or "") == start:
                root = index
                break
    found = _Found(list(children[root].plain), list(children[root].html), list(children[root].files))
    for index, child in enumerate(children):
        if index != root:
            found.files.extend(child.plain + child.html + child.files)
    return found


_META_CHARSET_RE = re.compile(rb"""<meta\b[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _html_meta_charset(data: bytes) -> str | None:
    """The charset an HTML document declares in a <meta> tag, if any."""
    match = _META_CHARSET_RE.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def payload_bytes(part: Message, transfer_encoding: str | None = None) -> bytes:
    """A leaf part's payload with the transfer encoding undone, leniently.

    `transfer_encoding` is the Content-Transfer-Encoding value when the
    caller has it at hand; otherwise the part's header is read.
    """
    payload = part._payload  # the undecoded text; get_payload() may decode it lossily
    if not isinstance(payload, str):
        return b""
    data = payload.encode("utf-8", "surrogateescape")
    if transfer_encoding is None:
        transfer_encoding = _part_header(part, "content-transfer-encoding")
    encoding = (transfer_encoding or "").split(";", 1)[0].strip().strip('"').lower()
    if encoding == "base64":
        return charsets.decode_base64_lenient(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    if encoding in ("x-uuencode", "uuencode", "x-uue", "uue"):
        return _uudecode(data)
    return data


def _uudecode(data: bytes) -> bytes:
    """Decode uuencoded data line by line, skipping lines that do not decode."""
    decoded = []
    for line in data.splitlines():
        if line.startswith((b"begin ", b"end")) or not line.strip():
            continue
        try:
            decoded.append(binascii.a2b_uu(line))
        except binascii.Error:
            continue
    return b"".join(decoded)


def _body_text(body: _Found, extractor: _BodyExtractor) -> str:
    """The mail's text: plain parts joined by a blank line, else the HTML as text."""
    texts = [_normalise_newlines(extractor.text_of(part)) for part in body.plain]
    text = "\n\n".join(t.strip("\n") for t in texts if t.strip())
    if not text.strip() and body.html:
        converted = [html_to_text(_normalise_newlines(extractor.text_of(part))) for part in body.html]
        text = "\n\n".join(t for t in converted if t.strip())
    return _clean_text(text.strip("\n").rstrip())


def _join_html(body: _Found, extractor: _BodyExtractor) -> str | None:
    """The raw HTML of the body, or None when the mail has no HTML part."""
    if not body.html:
        return None
    return "\n".join(extractor.text_of(part) for part in body.html)


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _content_id(value: str | None) -> str | None:
    """A Content-ID value without <> and whitespace; None when missing or blank."""
    if value is None:
        return None
    value = "".join(_ascii_header(value).split()).strip("<>")
    return value or None


def _attachments(parts: list[Message], ctx: _Context) -> list[Attachment]:
    """Attachment records for the file parts, numbered from 1 for fallback names."""
    found = []
    for index, part in enumerate(parts, start=1):
        try:
            attachment = _attachment(part, index, ctx)
        except Exception as error:  # noqa: BLE001 - one bad part must not lose the mail
            ctx.notes.append(f"attachment {index} could not be read ({type(error).__name__})")
            continue
        if attachment is not None:
            found.append(attachment)
    return found


def _attachment(part: Message, index: int, ctx: _Context) -> Attachment | None:
    """One attachment; None for an empty message/* container (e.g. cut by the depth limit)."""
    ctype = ctx.content_type(part)
    disposition, disposition_params = ctx.params(part, "content-disposition")
    _, type_params = ctx.params(part, "content-type")
    name = disposition_params.get("filename") or type_params.get("name")
    if ctype.startswith("message/"):
        data = _attached_message_bytes(part)
        if not data.strip():
            return None
        # A subject like "Invoice 2024/01" must not turn into a path.
        subject = _attached_subject(part, ctx).replace("/", "-").replace("\\", "-")
        name = f"{subject}.eml" if subject else name
    else:
        data = payload_bytes(part, ctx.header(part, "content-transfer-encoding"))
    content_id = _content_id(ctx.header(part, "content-id"))
    return Attachment(
        filename=safe_filename(name, ctype, index),
        content_type=ctype,
        data=data,
        content_id=content_id,
        inline=content_id is not None and disposition != "attachment",
    )


def _attached_subject(part: Message, ctx: _Context) -> str:
    """The subject of an attached message/rfc822, decoded, one line."""
    payload = part._payload
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message):
        return ""
    subject = _part_header(inner, "subject")
    return one_line(charsets.decode_header_value(subject, ctx.hint)) if subject else ""


def _attached_message_bytes(part: Message) -> bytes:
    """The bytes of what a message/* part carries (not the part's own headers)."""
    payload = part._payload  # compat32 holds the parsed inner message(s) in a list
    if isinstance(payload, str):
        return payload_bytes(part)
    if not isinstance(payload, list):
        return b""
    return b"".join(serialise(inner) for inner in payload if isinstance(inner, Message))


def serialise(message: Message) -> bytes:
    """Bytes of a (sub-)message, rebuilt from the parsed tree without recursion."""
    out: list[bytes] = []
    stack: list[Message | bytes] = [message]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out.append(item)
            continue
        for name, value in item.raw_items():
            out.append(f"{name}: {value}\n".encode("utf-8", "surrogateescape"))
        out.append(b"\n")
        stack.extend(reversed(_serialised_body(item)))
    return b"".join(out)


def _serialised_body(item: Message) -> list[Message | bytes]:
    """The pieces of a message body: bytes, or sub-messages to expand."""
    payload = item._payload
    if isinstance(payload, str):
        return [payload.encode("utf-8", "surrogateescape")]
    if not isinstance(payload, list):
        return []
    subs = [sub for sub in payload if isinstance(sub, Message)]
    boundary = item.get_boundary() if content_type_of(item).startswith("multipart/") else None
    if not boundary:
        return list(subs)
    separator = f"--{boundary}\n".encode("utf-8", "surrogateescape")
    pieces: list[Message | bytes] = []
    if item.preamble:
        pieces.append(f"{item.preamble}\n".encode("utf-8", "surrogateescape"))
    for sub in subs:
        pieces.extend((separator, sub, b"\n"))
    pieces.append(f"--{boundary}--\n".encode("utf-8", "surrogateescape"))
    if item.epilogue:
        pieces.append(item.epilogue.encode("utf-8", "surrogateescape"))
    return pieces
