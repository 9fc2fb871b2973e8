"""Showing a customer's HTML mail without letting it do anything.

Three walls, each enough on its own against script: nh3 (ammonia) keeps only
harmless tags, attributes, URL schemes and style properties; the document is
served with its own Content-Security-Policy (no script at all, no network
but, once asked for, images); and the console shows it in an iframe sandboxed
without scripts or same-origin rights. Remote images are blocked by the
policy until the agent asks for them: a tracking pixel tells the sender
nothing until then. Images the mail carries itself (cid:) are inlined as data
URLs when small, since the sandboxed frame cannot send the session cookie.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path

import nh3

from daemon.ingest.stages.attachments import blob_path
from daemon.store.models import Attachment

_ATTRIBUTES = {
    "*": {"title", "lang", "dir", "align", "valign", "width", "height", "style", "class"},
    "a": {"href"}, "img": {"src", "alt"}, "td": {"colspan", "rowspan", "bgcolor"},
    "th": {"colspan", "rowspan", "bgcolor"}, "table": {"border", "cellpadding", "cellspacing", "bgcolor"},
    "font": {"color", "face", "size"}, "ol": {"start", "type"}, "col": {"span"}, "colgroup": {"span"},
}
_TAGS = nh3.ALLOWED_TAGS | {"font"}
_STYLE = {
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family", "text-align",
    "text-decoration", "margin", "margin-left", "margin-right", "margin-top", "margin-bottom", "padding",
    "padding-left", "padding-right", "padding-top", "padding-bottom", "border", "border-collapse", "width",
    "max-width", "height", "line-height", "vertical-align", "white-space", "list-style-type",
}
_SCHEMES = ("http", "https", "mailto", "cid")
_ABSOLUTE = re.compile(r"(?:https?://[^/\\]|mailto:|cid:)", re.IGNORECASE)
_BROWSER_DROPS = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_LOADS = re.compile(r"url\s*\(|expression\s*\(|@import|\\", re.IGNORECASE)
_CID = re.compile(r'src="cid:([^"]+)"', re.IGNORECASE)
_INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
MAX_INLINE_BYTES = 512 * 1024
_FRAME = ('<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
          '<style>body{font:15px/1.45 system-ui,sans-serif;margin:.5rem;color:#1d2733;overflow-wrap:anywhere}'
          'img{max-width:100%;height:auto}blockquote{border-left:3px solid #ccc;margin-left:0;padding-left:.6rem;'
          'color:#555}</style></head><body>{body}</body></html>')


def sanitize(html: str) -> str:
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=set(_SCHEMES),
                     attribute_filter=_absolute_only, filter_style_properties=_STYLE,
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def _absolute_only(element: str, attribute: str, value: str) -> str | None:
    """Links and images with a whole absolute address, and styles that load nothing.

    A relative address in a customer's mail would point into the console itself
    (a link to a console page, signed in, is a lure). Browsers read 'https:/x'
    and 'https:x' as relative to a page of the same scheme, and drop tabs,
    newlines and leading control characters, so the address is cleaned as a
    browser cleans it and must then start with http(s):// (or be mailto:/cid:).
    A style's url() or expression() has no business in a mail shown to an agent.
    """
    if attribute in ("href", "src"):
        cleaned = _BROWSER_DROPS.sub("", value).strip(_C0_AND_SPACE)
        return cleaned if _ABSOLUTE.match(cleaned) else None
    if attribute == "style" and _LOADS.search(value):
        return None
    return value


def document(clean: str, attachments: list[Attachment], blobs: Path) -> str:
    """The sanitised body as a whole page for the frame, with the mail's own small images inlined."""
    by_id = {(att.content_id or "").strip("<>").lower(): att for att in attachments if att.content_id}
    return _FRAME.replace("{body}", _CID.sub(lambda m: _inline(m.group(1), by_id, blobs), clean))


def _inline(content_id: str, by_id: dict, blobs: Path) -> str:
    att = by_id.get(content_id.strip("<>").lower())
    if att is None or not att.stored or att.content_type not in _INLINE_TYPES or att.size > MAX_INLINE_BYTES:
        return 'src=""'
    try:
        data = blob_path(blobs, att.sha256).read_bytes()
    except OSError:
        return 'src=""'
    return f'src="data:{att.content_type};base64,{base64.b64encode(data).decode()}"'


def policy(images: bool) -> str:
    """The frame's own Content-Security-Policy: nothing runs, nothing loads but (when asked) images."""
    sources = "data: http: https:" if images else "data:"
    return (f"default-src 'none'; img-src {sources}; style-src 'unsafe-inline'; font-src 'none'; "
            "form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups "
            "allow-popups-to-escape-sandbox")
