"""Recognising automatic mail: auto-replies, bounces, delivery reports, bulk.

A helpdesk must not answer these (mail loops) nor open tickets for them
as if a person wrote.  Mailing-list headers alone (List-Id) do not make a
mail automatic: people write to helpdesks through lists.
"""

from __future__ import annotations

import re
from email.message import Message

_SUPPRESS_VALUES = frozenset({"all", "oof", "autoreply", "dr", "rn", "nrn"})
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_ROBOT_LOCAL_PARTS = {"mailer-daemon": "sender: mailer-daemon", "postmaster": "sender: postmaster"}
_ANGLE_ADDR_RE = re.compile(r"<([^<>]*)>")
_PARAM_RE = re.compile(r"""(?i)[;\s]report-type\s*=\s*"?([\w-]+)""")
_MAX_PARTS_SCANNED = 500


def classify(msg: Message) -> str | None:
    """Why a top-level compat32 message is automatic, or None for human mail.

    Reasons: "delivery status notification", "disposition notification",
    "auto-submitted: <value>", "x-autoreply", "x-autorespond",
    "x-auto-response-suppress", "precedence: <value>", "return-path: empty",
    "sender: mailer-daemon", "sender: postmaster".
    """
    headers = _headers(msg)
    checks = (_report_type, _auto_submitted, _autoreply_headers, _response_suppress,
              _precedence, _return_path, _robot_sender)
    for check in checks:
        reason = check(headers)
        if reason:
            return reason
    return _delivery_status_part(msg, _first(headers, "content-type") or "")


def classify_envelope(mail_from: str | None) -> str | None:
    """"envelope sender: empty (bounce)" for the SMTP null sender; None otherwise.

    None (envelope unknown) and any non-empty sender give None.
    """
    if mail_from is None:
        return None
    if mail_from.strip().strip("<>").strip() == "":
        return "envelope sender: empty (bounce)"
    return None


_WANTED = frozenset({"content-type", "auto-submitted", "x-autoreply", "x-autorespond",
                     "x-auto-response-suppress", "precedence", "return-path", "from"})


def _headers(msg: Message) -> dict[str, list[str]]:
    """The headers classification reads, by lower-cased name, unfolded raw text."""
    found: dict[str, list[str]] = {}
    for name, value in msg._headers:  # what raw_items() would copy
        key = name.lower()
        if key in _WANTED:
            text = value if isinstance(value, str) else str(value)
            found.setdefault(key, []).append(" ".join(text.split()) if "\n" in text else text.strip())
    return found


def _content_type(part: Message) -> str:
    """A part's type/subtype as compat32 reads it, without Message.get()'s cost."""
    for name, value in part._headers:  # what raw_items() would copy
        if name.lower() == "content-type":
            ctype = str(value).split(";", 1)[0].strip().lower()
            return ctype if ctype.count("/") == 1 else "text/plain"
    return part.get_default_type()


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _main_value(value: str) -> str:
    """A header's value before any ';' parameters, lower-cased."""
    return value.split(";", 1)[0].strip().strip('"').lower()


def _report_type(headers: dict[str, list[str]]) -> str | None:
    """multipart/report; report-type=delivery-status (a DSN) or an MDN read receipt."""
    content_type = _first(headers, "content-type")
    if not content_type or _main_value(content_type) != "multipart/report":
        return None
    match = _PARAM_RE.search(content_type)
    report = match.group(1).lower() if match else ""
    if report == "delivery-status":
        return "delivery status notification"
    if report == "disposition-notification":
        return "disposition notification"
    return None


def _auto_submitted(headers: dict[str, list[str]]) -> str | None:
    """RFC 3834 Auto-Submitted: anything but "no" is automatic."""
    value = _first(headers, "auto-submitted")
    if value is None:
        return None
    keyword = _main_value(value)
    return f"auto-submitted: {keyword}" if keyword and keyword != "no" else None


def _autoreply_headers(headers: dict[str, list[str]]) -> str | None:
    """X-Autoreply / X-Autorespond, set by vacation responders, with any value."""
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return name
    return None


def _response_suppress(headers: dict[str, list[str]]) -> str | None:
    """Exchange's X-Auto-Response-Suppress naming automatic-response kinds."""
    value = _first(headers, "x-auto-response-suppress")
    if value is None:
        return None
    kinds = {kind.strip().lower() for kind in re.split(r"[,;\s]+", value)}
    return "x-auto-response-suppress" if kinds & _SUPPRESS_VALUES else None


def _precedence(headers: dict[str, list[str]]) -> str | None:
    value = _first(headers, "precedence")
    keyword = _main_value(value) if value else ""
    return f"precedence: {keyword}" if keyword in _BULK_PRECEDENCE else None


def _return_path(headers: dict[str, list[str]]) -> str | None:
    """Return-Path: <> is the null sender of bounces and auto-replies."""
    value = _first(headers, "return-path")
    if value is not None and value.replace(" ", "") == "<>":
        return "return-path: empty"
    return None


def _robot_sender(headers: dict[str, list[str]]) -> str | None:
    """From MAILER-DAEMON@... or postmaster@... (any case)."""
    value = _first(headers, "from")
    if not value:
        return None
    return _ROBOT_LOCAL_PARTS.get(_local_part(value))


def _local_part(value: str) -> str:
    """The lower-cased local part of the first address in a From value."""
    angle = _ANGLE_ADDR_RE.search(value)
    if angle:
        address = angle.group(1)
    else:
        tokens = [token for token in re.sub(r"\([^)]*\)", " ", value).split() if "@" in token]
        address = tokens[0] if tokens else value.strip()
    return address.rsplit("@", 1)[0].strip().strip('"').lower()


def _delivery_status_part(msg: Message, top_content_type: str) -> str | None:
    """A message/delivery-status part anywhere (bounces not wrapped in multipart/report)."""
    if not _main_value(top_content_type).startswith("multipart/"):
        return None
    stack, seen = [msg], 0
    while stack and seen < _MAX_PARTS_SCANNED:
        part = stack.pop()
        seen += 1
        payload = part._payload  # compat32 keeps sub-parts in a list
        if not isinstance(payload, list) or (part is not msg and not _content_type(part).startswith("multipart/")):
            continue
        for sub in payload:
            if not isinstance(sub, Message):
                continue
            if _content_type(sub) in ("message/delivery-status", "message/global-delivery-status"):
                return "delivery status notification"
            stack.append(sub)
    return None
