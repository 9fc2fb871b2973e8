"""A limit on MIME nesting depth, applied to the raw bytes before parsing.

The stdlib parser recurses once per MIME level (and slows down
quadratically); past ~900 levels it raises RecursionError.  So the raw bytes
are pre-scanned, emulating the feed parser's boundary rules, and the bodies
of containers deeper than the limit are cut out before parsing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

# What the stdlib feed parser accepts as a header line (email.feedparser.headerRE).
_HEADER_LINE_RE = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")
_BOUNDARY_PARAM_RE = re.compile(r"""(?i)[;\s]boundary\s*=\s*(?:"([^"]*)"|([^\s;]+))""")


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
