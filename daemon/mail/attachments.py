"""Attachment records for the file parts of a mail."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from daemon.mail import charsets
from daemon.mail.cleaners import one_line
from daemon.mail.context import MailContext
from daemon.mail.mime import content_id, part_header, payload_bytes, serialise
from daemon.mail.names import safe_filename


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None
    inline: bool


def attachments(parts: list[Message], ctx: MailContext) -> list[Attachment]:
    """Attachment records for the file parts, numbered from 1 for fallback names.

    A part that cannot be read is left out with a note in ctx.notes.
    """
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


def _attachment(part: Message, index: int, ctx: MailContext) -> Attachment | None:
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
    cid = content_id(ctx.header(part, "content-id"))
    return Attachment(
        filename=safe_filename(name, ctype, index),
        content_type=ctype,
        data=data,
        content_id=cid,
        inline=cid is not None and disposition != "attachment",
    )


def _attached_subject(part: Message, ctx: MailContext) -> str:
    """The subject of an attached message/rfc822, decoded, one line."""
    payload = part._payload
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message):
        return ""
    subject = part_header(inner, "subject")
    return one_line(charsets.decode_header_value(subject, ctx.hint)) if subject else ""


def _attached_message_bytes(part: Message) -> bytes:
    """The bytes of what a message/* part carries (not the part's own headers)."""
    payload = part._payload  # compat32 holds the parsed inner message(s) in a list
    if isinstance(payload, str):
        return payload_bytes(part)
    if not isinstance(payload, list):
        return b""
    return b"".join(serialise(inner) for inner in payload if isinstance(inner, Message))
