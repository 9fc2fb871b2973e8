"""Tolerant decoding of bytes in a declared, missing or wrong charset.

The declared charset is used when it decodes strictly (with a second opinion
for single-byte charsets, which always decode); otherwise strict UTF-8, then
detection, then windows-1252 with replacement.  Never raises.
"""

from __future__ import annotations

import re

from daemon.mail.charset_codecs import WIDER, display_name, high_byte_count, python_codec, show_label, strict_decode
from daemon.mail.charset_detect import DETECT_SAMPLE, detect_codec, script_of
from daemon.mail.charset_opinion import second_opinion

_UTF8_SEQUENCE_RE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def decode_bytes(data: bytes, label: str | None) -> tuple[str, str | None]:
    """Decode `data` declared as charset `label`; return (text, note or None).

    Never raises.  The declared charset is used when it decodes strictly;
    otherwise (label missing, unknown, or wrong) falls back to strict UTF-8,
    then detection, then windows-1252 with replacement.  A single-byte
    charset always decodes, so its text gets a second opinion: when it looks
    like mojibake and a common alternative is clearly better, that is used
    ("declared charset 'iso-8859-1' looks wrong; decoded as windows-1251").
    The note says what was repaired, e.g. "charset 'x-unknown' unknown;
    decoded as koi8-r (detected)"; it is None when the declared charset
    simply worked.
    """
    if not data:
        return "", None
    data = bytes(data)
    label = label if isinstance(label, str) else None
    codec = python_codec(label)
    if codec is not None:
        decoded = _decode_declared(data, codec, label or "")
        if decoded is not None:
            return decoded
        reason = f"charset {show_label(label or '')!r} did not decode cleanly"
    elif label and label.strip():
        reason = f"charset {show_label(label)!r} unknown"
    else:
        reason = "charset missing"
    return _decode_undeclared(data, reason, silent_utf8=(label is None or not label.strip()))


def _decode_declared(data: bytes, codec: str, label: str) -> tuple[str, str | None] | None:
    """The text in the declared codec (or a superset of it), after a second opinion.

    None when the bytes are not valid in any of them.
    """
    for candidate in (codec, *WIDER.get(codec, ())):
        text = strict_decode(data, candidate)
        if text is not None:
            better = second_opinion(data, candidate, text)
            if better is None:
                return text, None
            return better[0], (f"declared charset {show_label(label)!r} looks wrong; "
                               f"decoded as {display_name(better[1])}")
    return None


def decode_raw_header_bytes(data: bytes, hint: str | None) -> tuple[str, str | None]:
    """Decode unencoded 8-bit header bytes: UTF-8, else the hint charset, else detect.

    Returns (text, note or None); never raises.
    """
    if data.isascii():
        return data.decode("ascii"), None
    text = strict_decode(data, "utf-8")
    if text is not None:
        return text, None
    hint_codec = python_codec(hint)
    if hint_codec not in (None, "ascii", "utf-8"):
        text = strict_decode(data, hint_codec)
        if text is not None and _mixes_scripts(text):
            # "fьr Mьller": the body's charset does not fit these bytes; judge them alone.
            alone = _decode_undeclared(data, "raw 8-bit bytes", silent_utf8=True)
            if not _mixes_scripts(alone[0]):
                return alone
        if text is not None:
            better = second_opinion(data, hint_codec, text)
            if better is not None:
                return better[0], (f"raw 8-bit bytes: charset of the body {show_label(hint or '')!r} "
                                   f"looks wrong for them; decoded as {display_name(better[1])}")
            return text, f"raw 8-bit bytes decoded as {display_name(hint_codec)} (charset of the body)"
    return _decode_undeclared(data, "raw 8-bit bytes", silent_utf8=True)


def _mixes_scripts(text: str) -> bool:
    """A word with both Latin and Cyrillic letters: one of the two is mojibake."""
    for word in text.split():
        scripts = {script_of(ch) for ch in word if ch.isalpha()}
        if "latin" in scripts and "cyrillic" in scripts:
            return True
    return False


def _decode_undeclared(data: bytes, reason: str, *, silent_utf8: bool) -> tuple[str, str | None]:
    """Decode bytes whose charset is unknown: ASCII, UTF-8, detection, last resort."""
    if _has_iso2022_escapes(data):
        for codec in ("iso2022_jp", *WIDER["iso2022_jp"]):
            text = strict_decode(data, codec)
            if text is not None:
                return text, f"{reason}; decoded as iso-2022-jp (detected)"
    if data.isascii():
        return data.decode("ascii"), (None if silent_utf8 else f"{reason}; decoded as us-ascii")
    text = strict_decode(data, "utf-8")
    if text is not None:
        return text, (None if silent_utf8 else f"{reason}; decoded as utf-8")
    if _mostly_utf8(data):
        return data.decode("utf-8", "replace"), f"{reason}; decoded as utf-8 with replacement"
    return _decode_detected(data, reason) or (
        data.decode("cp1252", "replace"),
        f"{reason}; decoded as windows-1252 with replacement (detection failed)")


def _decode_detected(data: bytes, reason: str) -> tuple[str, str] | None:
    """Decode in the detected charset, with replacement if need be; None if detection fails."""
    detected = detect_codec(data)
    if detected is None:
        return None
    text = strict_decode(data, detected)
    if text is not None:
        return text, f"{reason}; decoded as {display_name(detected)} (detected)"
    try:
        return (data.decode(detected, "replace"),
                f"{reason}; decoded as {display_name(detected)} (detected, with replacement)")
    except Exception:  # noqa: BLE001 - fall through to the last resort
        return None


def _has_iso2022_escapes(data: bytes) -> bool:
    """ISO-2022-JP is 7-bit: only its escape sequences betray it."""
    return b"\x1b$" in data or b"\x1b(" in data


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with a few damaged bytes (cut or corrupted), not another charset."""
    sample = data[:DETECT_SAMPLE * 4]
    high = high_byte_count(sample)
    valid = sum(len(match) for match in _UTF8_SEQUENCE_RE.findall(sample))
    return valid >= 4 and valid >= 0.9 * high
