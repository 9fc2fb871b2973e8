"""HTML mail bodies: conversion to plain text, and sanitising for display."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "object", "svg"})
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "dl", "pre",
     "hr", "address", "figure", "fieldset", "form"}
)
_BLOCKS = _PARAGRAPHS | frozenset(
    {"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "nav", "aside",
     "main", "center", "caption", "figcaption", "details", "summary", "tbody", "thead", "tfoot",
     "body", "html"}
)
_HEAD_CONTENT = frozenset({"meta", "link", "title", "style", "script", "base", "noscript", "template", "head", "html"})
_CELLS = frozenset({"td", "th"})
_VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base"})
_MAX_INDENT = 8
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_BLANK_RUN_RE = re.compile(r"\n{3,}")
_SPACE_RUN_RE = re.compile(r"[ \t\r\n\f\v\u00a0]+")


class _TextCollector(HTMLParser):
    """Collects the visible text of an HTML document, with line structure."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip_depth = 0
        self.in_head = False
        self.pre_depth = 0
        self.list_depth = 0
        self.links: list[tuple[str, int]] = []
        self.wanted_newlines = 0  # line breaks owed before the next text
        self.trailing_newlines = 2  # the start counts as a fresh paragraph

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.in_head and tag not in _HEAD_CONTENT:
            self.in_head = False  # browsers end <head> at the first body element
        if tag in _SKIPPED:
            self._enter_skipped(tag)
        elif not self._skipping():
            self._open(tag, dict(attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED or self._skipping():
            return
        self._open(tag, dict(attrs))
        if tag not in _VOID:
            self._close(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._leave_skipped(tag)
        elif not self._skipping():
            self._close(tag)

    def handle_data(self, data: str) -> None:
        if self.in_head and not self.skip_depth and data.strip():
            self.in_head = False  # text cannot be in <head>: the body has begun
        if self._skipping():
            return
        if self.pre_depth:
            self._write(data.replace("\r\n", "\n").replace("\u00a0", " "))
            return
        text = _SPACE_RUN_RE.sub(" ", data)
        if text.strip():
            self._write(text)
        elif text and not self.trailing_newlines:
            self.out.append(" ")

    def _write(self, text: str) -> None:
        """Append text after any line breaks block elements asked for."""
        owed = self.wanted_newlines - self.trailing_newlines
        if owed > 0:
            self.out.append("\n" * owed)
        self.wanted_newlines = 0
        self.out.append(text)
        stripped = text.rstrip("\n")
        self.trailing_newlines = len(text) - len(stripped) if stripped else self.trailing_newlines + len(text)

    def _want_break(self, newlines: int) -> None:
        self.wanted_newlines = max(self.wanted_newlines, newlines)

    def _skipping(self) -> bool:
        return self.skip_depth > 0 or self.in_head

    def _enter_skipped(self, tag: str) -> None:
        if tag == "head":
            self.in_head = True
        else:
            self.skip_depth += 1

    def _leave_skipped(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
        elif self.skip_depth:
            self.skip_depth -= 1

    def _open(self, tag: str, attrs: dict[str, str | None]) -> None:
        if tag == "br":
            self._write("\n")
        elif tag in ("ul", "ol") and self.list_depth:
            self._want_break(1)  # a nested list continues its parent item
        elif tag in _PARAGRAPHS:
            self._want_break(2)
        elif tag in _BLOCKS:
            self._want_break(1)
        elif tag in _CELLS and not self.trailing_newlines and self.out:
            self.out.append(" ")
        if tag == "pre":
            self.pre_depth += 1
        elif tag in ("ul", "ol"):
            self.list_depth += 1
        elif tag == "li":
            self._write("  " * min(max(self.list_depth - 1, 0), _MAX_INDENT) + "- ")
        elif tag == "a":
            self.links.append(((attrs.get("href") or "").strip(), len(self.out)))

    def _close(self, tag: str) -> None:
        if tag == "pre" and self.pre_depth:
            self.pre_depth -= 1
        elif tag in ("ul", "ol") and self.list_depth:
            self.list_depth -= 1
        elif tag == "a" and self.links:
            self._finish_link(*self.links.pop())
        if tag in _PARAGRAPHS and not (tag in ("ul", "ol") and self.list_depth):
            self._want_break(2)
        elif tag in _BLOCKS:
            self._want_break(1)

    def _finish_link(self, href: str, start: int) -> None:
        """Append the URL after the link text when it says something new."""
        # Only the start of the link text matters; bounded so nested links stay linear.
        text = "".join(self.out[start:start + 64]).strip()
        if not href.lower().startswith(_LINK_SCHEMES) or _same_target(text, href):
            return
        self._write(f" ({href})" if text else href)


def _same_target(text: str, href: str) -> bool:
    """True when a link's text already shows where it goes."""
    def norm(value: str) -> str:
        value = value.strip().lower()
        if value.startswith("mailto:"):
            value = value[len("mailto:"):].split("?", 1)[0]
        return value.rstrip("/")
    return norm(text) == norm(href) or norm(text) == norm(href).split("://", 1)[-1]


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML document; never raises on broken markup.

    Script, style, head and title content is dropped; block elements and
    <br> give line breaks, list items get "- ", links keep their text plus
    " (url)" when the http(s)/mailto URL differs from the text; entities are
    decoded; runs of blank lines collapse to one; no trailing spaces.
    """
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # noqa: BLE001 - keep what was collected from broken markup
        pass
    return _tidy("".join(collector.out))


def _tidy(text: str) -> str:
    """Strip line ends, drop spaces at line starts and collapse blank runs."""
    lines = [line.rstrip() for line in text.replace("\r", "").split("\n")]
    lines = [line[1:] if line.startswith(" ") and not line.startswith("  ") else line for line in lines]
    return _BLANK_RUN_RE.sub("\n\n", "\n".join(lines)).strip("\n")


# What a mail may keep for display: formatting, tables and images, nothing active.
_ALLOWED_TAGS = (set(nh3.ALLOWED_TAGS) | {"font", "tfoot", "th", "caption", "big", "address"}) - {"map", "area"}
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"style", "title", "lang", "dir", "align", "valign", "width", "height", "bgcolor"},
    "font": {"color", "face", "size"},
    "table": {"align", "border", "cellpadding", "cellspacing", "summary", "width", "bgcolor"},
    "td": {"align", "colspan", "rowspan", "valign", "width", "nowrap", "bgcolor"},
    "th": {"align", "colspan", "rowspan", "valign", "width", "nowrap", "bgcolor", "scope"},
    "img": {"alt", "src", "width", "height", "border", "align"},
    "a": {"href", "hreflang", "name"},
    "ol": {"start", "type"},
    "ul": {"type"},
}
# Layout and typography only: nothing that positions, hides or loads (no url()).
_STYLE_PROPERTIES = {
    "color", "background-color", "font-family", "font-size", "font-style", "font-weight",
    "text-align", "text-decoration", "vertical-align", "white-space", "line-height",
    "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
    "padding", "padding-top", "padding-bottom", "padding-left", "padding-right",
    "border", "border-top", "border-bottom", "border-left", "border-right",
    "border-collapse", "border-color", "border-style", "border-width",
    "width", "height", "max-width", "min-width",
}
# cid: lets the console resolve inline images; no javascript:, no data:.
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "ftp"}


_CLEAN_OPTIONS = {
    "tags": _ALLOWED_TAGS,
    "clean_content_tags": {"script", "style", "title", "head", "template", "noscript"},
    "attributes": _ALLOWED_ATTRIBUTES,
    "url_schemes": _URL_SCHEMES,
    "filter_style_properties": _STYLE_PROPERTIES,
    "link_rel": "noopener noreferrer",
}
# Compiled once: several times faster per call than nh3.clean with the same options.
_clean = nh3.Cleaner(**_CLEAN_OPTIONS).clean


def sanitise(html: str) -> str:
    """HTML safe to display in the console (nh3 with a mail allow-list).

    Removes scripts, style elements, event handlers, forms and javascript:/
    data: URLs; keeps basic formatting, tables, inline styles limited to
    layout and typography, and images (remote ones are blocked later).
    """
    try:
        return _clean(html)
    except Exception:  # noqa: BLE001 - never display what could not be cleaned
        return nh3.clean_text(html)
