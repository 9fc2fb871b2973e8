"""Safe attachment file names: no paths, no control characters, never empty."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_CHARS = 150
# 150 Cyrillic characters are 300 UTF-8 bytes; common file systems allow 255.
MAX_NAME_BYTES = 240
_MAX_EXTENSION_CHARS = 16

_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/csv": ".csv",
    "text/calendar": ".ics",
    "text/vcard": ".vcf",
    "text/x-vcard": ".vcf",
    "text/rfc822-headers": ".txt",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/svg+xml": ".svg",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
    "application/gzip": ".gz",
    "application/x-7z-compressed": ".7z",
    "application/x-rar-compressed": ".rar",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/rtf": ".rtf",
    "application/json": ".json",
    "application/xml": ".xml",
    "application/ics": ".ics",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/ms-tnef": ".dat",
    "audio/mpeg": ".mp3",
    "video/mp4": ".mp4",
}

# Characters Windows refuses in names; replaced so a saved file keeps its name.
_WINDOWS_FORBIDDEN_RE = re.compile(r'[<>:"|?*]')
_PATH_SEPARATOR_RE = re.compile(r"[/\\]")


def extension_for(content_type: str) -> str:
    """A file extension (with dot) for a content type; '.bin' when unknown."""
    content_type = (content_type or "").lower()
    if content_type in _EXTENSIONS:
        return _EXTENSIONS[content_type]
    if content_type.startswith("text/"):
        return ".txt"
    return ".bin"


def safe_filename(name: str | None, content_type: str, index: int) -> str:
    """A file name safe to show and to save: never empty, '.' or '..'.

    Path components (/ and \\) are removed, as are control and format
    characters (Unicode category C*, e.g. NUL and RIGHT-TO-LEFT OVERRIDE) and
    leading dots; whitespace is collapsed; non-ASCII letters are kept.  The
    result is capped at 150 characters (and 240 UTF-8 bytes) keeping the
    extension.  An empty result becomes 'attachment-<index><extension>'.
    """
    cleaned = _clean(name or "")
    if not cleaned:
        return f"attachment-{index}{extension_for(content_type)}"
    return _cap_length(cleaned)


def _clean(name: str) -> str:
    """Strip paths, invisible characters and edge dots/spaces from a name."""
    name = unicodedata.normalize("NFC", name)
    components = [part for part in _PATH_SEPARATOR_RE.split(name) if part.strip(" .")]
    name = components[-1] if components else ""
    kept = []
    for ch in name:
        category = unicodedata.category(ch)
        if ch.isspace() or category[0] == "Z":
            kept.append(" ")
        elif category[0] != "C":
            kept.append(ch)
    name = " ".join("".join(kept).split())
    name = _WINDOWS_FORBIDDEN_RE.sub("_", name)
    # Leading dots hide files; trailing dots and spaces are dropped by Windows.
    return name.lstrip(". ").rstrip(". ")


def _cap_length(name: str) -> str:
    """Shorten the stem so the whole name fits the caps; keep the extension."""
    if len(name) <= MAX_NAME_CHARS and len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > _MAX_EXTENSION_CHARS:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    stem = stem[: MAX_NAME_CHARS - len(suffix)]
    while len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem.rstrip(". ") + suffix if stem.rstrip(". ") else f"attachment{suffix}"
