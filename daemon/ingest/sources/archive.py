"""Mail archives as a source: an mbox, a Maildir, a folder of .eml files, read as one stream of messages.

Streaming: a first pass reads only each message's headers (up to HEAD_BYTES)
to learn its date, keeping a small locator per message; the second yields the
messages one at a time in order of date (file order among equal or missing
dates: an undated message keeps its place after the one before it). An mbox
of several GB is read in bounded memory. `kind_of` tells what a path holds,
so that `ingest`, which takes single mails, can refuse an archive by name.
"""
from __future__ import annotations

import email.utils
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from daemon.errors import PatroldeskError
from daemon.languages import N_

KINDS = ("mbox", "maildir", "eml")
HEAD_BYTES = 64 * 1024  # of a message, read to find its date
_FROM_LINE = re.compile(rb"From \S+ ")  # "From sender@example.org Mon Jan  1 00:00:00 2024"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ArchiveRefused(PatroldeskError):
    """A path that is not the archive it was said to be."""


def kind_of(path: Path) -> str | None:
    """What `path` holds: "maildir" (a folder with cur/ and new/), "eml" (any other folder), "mbox" (a file
    that starts with an mbox "From " line, however many mails it holds), or None for one mail."""
    if path.is_dir():
        return "maildir" if (path / "cur").is_dir() and (path / "new").is_dir() else "eml"
    with open(path, "rb") as handle:
        first = handle.readline(1024)
    return "mbox" if _FROM_LINE.match(first.rstrip(b"\r\n")) else None


@dataclass(frozen=True)
class Entry:
    """Where one message is, and when it was sent."""
    date: datetime
    order: int
    source: str  # the archive's path
    key: str  # the message's key in it (mbox: its number; Maildir: its key; eml: its file name)


def entries(kind: str, paths: list[Path]) -> list[Entry]:
    """Every message of the archives, in order of date (see the module's docstring)."""
    found: list[Entry] = []
    last = _EPOCH
    for path in paths:
        for key, head in _heads(kind, path):
            date = _date_of(head) or last
            last = date
            found.append(Entry(date, len(found), str(path), key))
    found.sort(key=lambda entry: (entry.date, entry.order))
    return found


def read(kind: str, entry: Entry, opened: dict) -> bytes:
    """One message's bytes (`opened` keeps each archive open between calls)."""
    if kind == "eml":
        return (Path(entry.source) / entry.key).read_bytes()
    box = opened.get(entry.source)
    if box is None:
        box = opened[entry.source] = _open(kind, Path(entry.source))
    data = box.get_bytes(int(entry.key) if kind == "mbox" else entry.key)
    return data


def _heads(kind: str, path: Path) -> Iterator[tuple[str, bytes]]:
    if kind == "eml":
        if not path.is_dir():
            raise ArchiveRefused(N_("%(path)s is not a folder of .eml files", path=str(path)))
        for file in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
            with open(file, "rb") as handle:
                yield file.name, handle.read(HEAD_BYTES)
        return
    box = _open(kind, path)
    try:
        for key in box.iterkeys():
            with box.get_file(key) as handle:
                yield str(key), handle.read(HEAD_BYTES)
    finally:
        box.close()


def _open(kind: str, path: Path):
    if kind == "maildir":
        if not (path / "cur").is_dir():
            raise ArchiveRefused(N_("%(path)s is not a Maildir (it has no cur/ and new/)", path=str(path)))
        return mailbox.Maildir(str(path), factory=None, create=False)
    if path.is_dir() or not path.exists():
        raise ArchiveRefused(N_("%(path)s is not an mbox file", path=str(path)))
    return mailbox.mbox(str(path), factory=None, create=False)


def _date_of(head: bytes) -> datetime | None:
    headers = BytesHeaderParser(policy=compat32).parsebytes(head.split(b"\n\n", 1)[0] + b"\n\n")
    try:
        found = email.utils.parsedate_to_datetime(headers.get("Date", "") or "")
    except (TypeError, ValueError, IndexError):
        return None
    if found is None:
        return None
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)
