"""The body of a mail: which parts are its text and HTML, and which are files.

A text/plain or text/html part is body text unless it is marked
`Content-Disposition: attachment`, or it has a filename without an explicit
`inline` disposition (then it is a file, unless the mail has no other body
text: see extract_body).  multipart/alternative gives one representation of
each kind (the first plain text with content, the last HTML),
multipart/related gives its root part as body and the rest as inline
resources, any other multipart gives the body parts of all its children.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from daemon.mail import charsets
from daemon.mail.boundaries import boundaries_of, without_boundaries
from daemon.mail.cleaners import clean_text
from daemon.mail.context import MailContext
from daemon.mail.flowed import flowed_params, unflow
from daemon.mail.htmltext import html_to_text
from daemon.mail.mime import content_id, payload_bytes

_BODY_TYPES = ("text/plain", "text/html")
_META_CHARSET_RE = re.compile(rb"""<meta\b[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


@dataclass(frozen=True)
class Body:
    """What extract_body found."""
    text: str  # the mail's text, safe to store
    html: str | None  # the raw, unsanitised HTML source; None when there is no HTML part
    files: list[Message]  # the parts that are attachments, in order


def extract_body(ctx: MailContext) -> Body:
    """The text, HTML and file parts of the mail in ctx; repairs are noted in ctx.notes.

    When no body text is found, the first text part that has a filename but
    no Content-Disposition becomes the body instead of an attachment.
    """
    extractor = _BodyExtractor(ctx)
    found = extractor.extract()
    text = _body_text(found, extractor)
    if not text:
        fallback = _named_text_part(found.files, ctx)
        if fallback is not None:
            found = _promoted(found, fallback, ctx)
            text = _body_text(found, extractor)
    return Body(text, _join_html(found, extractor), found.files)


def _named_text_part(files: list[Message], ctx: MailContext) -> Message | None:
    """The first text/plain or text/html file part with a filename and no disposition."""
    for part in files:
        disposition, _ = ctx.params(part, "content-disposition")
        if ctx.content_type(part) in _BODY_TYPES and not disposition and _has_name(part, ctx):
            return part
    return None


def _promoted(found: _Found, part: Message, ctx: MailContext) -> _Found:
    """The findings with one file part moved to the body."""
    files = [file for file in found.files if file is not part]
    if ctx.content_type(part) == "text/plain":
        return _Found(found.plain + [part], list(found.html), files)
    return _Found(list(found.plain), found.html + [part], files)


@dataclass
class _Found:
    """Parts found under one MIME node, by role."""
    plain: list[Message]
    html: list[Message]
    files: list[Message]


class _BodyExtractor:
    """Walks the MIME tree iteratively (no recursion) and picks the body parts."""

    def __init__(self, ctx: MailContext) -> None:
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
        if ctype.startswith("multipart/"):
            # A multipart without usable boundary: its payload is all there is.
            if self.text_of(part).strip():
                found.plain.append(part)
            return found
        if ctype in _BODY_TYPES and self._is_body_text(part, is_root):
            (found.plain if ctype == "text/plain" else found.html).append(part)
        else:
            found.files.append(part)
        return found

    def _is_body_text(self, part: Message, is_root: bool) -> bool:
        """Whether a text/plain or text/html leaf is shown as text rather than attached."""
        disposition, _ = self.ctx.params(part, "content-disposition")
        if disposition == "attachment":
            return False
        # Mailers send typed text as `inline; filename=...`: an explicit inline wins over the
        # name, but only for a declared text type (a missing Content-Type defaults to text).
        declared = self.ctx.header(part, "content-type") is not None
        return (disposition == "inline" and declared) or is_root or not _has_name(part, self.ctx)

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
        """Undo the transfer encoding, decode the charset (declared, <meta> or detected), unflow."""
        data = payload_bytes(part, self.ctx.header(part, "content-transfer-encoding"))
        params = self.ctx.params(part, "content-type")[1]
        label = params.get("charset")
        ctype = self.ctx.content_type(part)
        is_html = ctype == "text/html"
        if not label and is_html:
            label = _html_meta_charset(data)
        text, note = charsets.decode_bytes(data, label)
        if note:
            self.ctx.notes.append(f"{'HTML body' if is_html else 'body'} {note}")
        flowed, delsp = flowed_params(params)
        return unflow(text, delsp) if flowed and ctype == "text/plain" else text


def _children(part: Message, ctx: MailContext) -> list[Message]:
    """Sub-parts of a multipart; message/* parts are leaves (attachments)."""
    payload = part._payload  # get_payload() would re-decode; compat32 keeps a list here
    if not isinstance(payload, list) or not ctx.content_type(part).startswith("multipart/"):
        return []
    return [sub for sub in payload if isinstance(sub, Message)]


def _has_name(part: Message, ctx: MailContext) -> bool:
    """Whether a part names a file (Content-Disposition filename or Content-Type name)."""
    return "filename" in ctx.params(part, "content-disposition")[1] or "name" in ctx.params(part, "content-type")[1]


def _related(part: Message, children: list[_Found], ctx: MailContext) -> _Found:
    """multipart/related: the root part is the body, the rest are inline resources."""
    _, params = ctx.params(part, "content-type")
    root = 0
    start = params.get("start", "").strip().strip("<>")
    if start:
        for index, sub in enumerate(_children(part, ctx)):
            if (content_id(ctx.header(sub, "content-id")) or "") == start:
                root = index
                break
    found = _Found(list(children[root].plain), list(children[root].html), list(children[root].files))
    for index, child in enumerate(children):
        if index != root:
            found.files.extend(child.plain + child.html + child.files)
    return found


def _html_meta_charset(data: bytes) -> str | None:
    """The charset an HTML document declares in a <meta> tag, if any."""
    match = _META_CHARSET_RE.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def _body_text(body: _Found, extractor: _BodyExtractor) -> str:
    """The mail's text: plain parts joined by a blank line, else the HTML as text."""
    boundaries = boundaries_of(extractor.ctx.message)
    texts = [without_boundaries(_normalise_newlines(extractor.text_of(part)), boundaries) for part in body.plain]
    text = "\n\n".join(t.strip("\n") for t in texts if t.strip())
    if not text.strip() and body.html:
        converted = [without_boundaries(html_to_text(_normalise_newlines(extractor.text_of(part))), boundaries)
                     for part in body.html]
        text = "\n\n".join(t for t in converted if t.strip())
    return clean_text(text.strip("\n").rstrip())


def _join_html(body: _Found, extractor: _BodyExtractor) -> str | None:
    """The raw HTML of the body, or None when the mail has no HTML part."""
    if not body.html:
        return None
    return "\n".join(extractor.text_of(part) for part in body.html)


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
