"""Keep each attachment once, by content, under a name that is safe to serve.

Files go to var/attachments/ab/<sha256>; an attachment over the configured
size is listed but not copied out (its bytes stay in the raw mail).
"""
import hashlib
import os
import secrets
from pathlib import Path

from daemon.store.db import insert_fast
from daemon.store.models import Attachment

_MADE: set[Path] = set()  # folders known to exist: one mkdir per folder per process

def run(ctx) -> None:
    limit = ctx.config.ingest.max_attachment_bytes
    # Hashed, and written, when it was prepared in another process; else here, once.
    digests = ctx.prepared.digests if ctx.prepared is not None else digests_of(ctx.mail)
    if ctx.prepared is None or not ctx.prepared.files_written:
        store_files(ctx.mail, ctx.config, digests)
    for part, digest in zip(ctx.mail.attachments, digests):
        stored = len(part.data) <= limit
        insert_fast(Attachment, message=ctx.message.id, filename=part.filename[:255],
                    content_type=part.content_type[:255], size=len(part.data), sha256=digest, stored=stored,
                    inline=part.inline, content_id=(part.content_id or None) and part.content_id[:255])


def digests_of(mail) -> tuple[str, ...]:
    """The SHA-256 of each attachment, in order: the name its file is kept under."""
    return tuple(hashlib.sha256(part.data).hexdigest() for part in mail.attachments)


def store_files(mail, config, digests: tuple[str, ...]) -> None:
    """Write the mail's attachments that are not over the limit; needs no database. A file
    written for a mail whose transaction then fails is harmless: it is kept by its content."""
    limit = config.ingest.max_attachment_bytes
    for part, digest in zip(mail.attachments, digests):
        if len(part.data) <= limit:
            store_blob(config.attachments_dir, digest, part.data)


def blob_path(root: Path, digest: str) -> Path:
    return root / digest[:2] / digest


def store_blob(root: Path, digest: str, data: bytes) -> None:
    """Write content-addressed bytes once; a rename makes a half-written file impossible."""
    path = blob_path(root, digest)
    if path.exists():
        return
    if path.parent not in _MADE:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _MADE.add(path.parent)
    # A name no other writer uses, whatever its thread, process or host (var/ may be shared storage).
    partial = path.with_name(f".{digest}.{secrets.token_hex(8)}.part")
    partial.write_bytes(data)
    os.replace(partial, path)
