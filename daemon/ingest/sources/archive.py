"""Mail archives as a source: an mbox, a Maildir, a folder of .eml files, read as one stream of messages.

Streaming: a first pass reads only each message's headers (up to HEAD_BYTES)
to learn its date, and writes a locator per message (its archive, key, and for
an mbox its byte range) to an index on disk, a temporary SQLite file; the
second yields the messages one at a time in order of date (file order among
equal or missing dates: an undated message keeps its place after the one
before it). Nothing grows with the archive in memory: an mbox is scanned
line by line (not with mailbox.mbox, whose table of contents holds every
message's offsets), a Maildir's folders are listed entry by entry.
`kind_of` tells what a path holds, so that `ingest`, which takes single
mails, can refuse an archive by name.
"""
from __future__ import annotations

import email.utils
import os
import re
import sqlite3
import tempfile
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
    key: str  # the message's key in it (mbox: its number; Maildir: its file name; eml: its file name)
    start: int = 0  # mbox: the byte range of the message, its "From " line included
    stop: int = 0


class Index:
    """The locators of every message of some archives, kept in a temporary SQLite file, read back in
    order of date; `close` (or leaving a `with`) removes the file."""

    def __init__(self):
        self._folder = tempfile.TemporaryDirectory(prefix="patroldesk-import-")
        self._db = sqlite3.connect(os.path.join(self._folder.name, "index.db"))
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE entry (date TEXT, ord INTEGER, source TEXT, key TEXT, start INTEGER, "
                         "stop INTEGER)")
        self._count = 0

    def add(self, batch: list[tuple]) -> None:
        self._db.executemany("INSERT INTO entry VALUES (?, ?, ?, ?, ?, ?)", batch)
        self._count += len(batch)

    def sort(self) -> None:
        self._db.execute("CREATE INDEX entry_order ON entry (date, ord)")
        self._db.commit()

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Entry]:
        cursor = self._db.execute("SELECT date, ord, source, key, start, stop FROM entry ORDER BY date, ord")
        while rows := cursor.fetchmany(500):
            for date, order, source, key, start, stop in rows:
                yield Entry(datetime.fromisoformat(date), order, source, key, start, stop)

    def close(self) -> None:
        self._db.close()
        self._folder.cleanup()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def entries(kind: str, paths: list[Path]) -> Index:
    """Every message of the archives, in order of date (see the module's docstring)."""
    index = Index()
    try:
        batch: list[tuple] = []
        last = _EPOCH
        for path in paths:
            for key, head, start, stop in _heads(kind, path):
                date = _date_of(head) or last
                last = date
                batch.append((date.astimezone(timezone.utc).isoformat(), len(index) + len(batch), str(path), key,
                              start, stop))
                if len(batch) >= 1000:
                    index.add(batch)
                    batch = []
        index.add(batch)
        index.sort()
    except BaseException:
        index.close()
        raise
    return index


def read(kind: str, entry: Entry, opened: dict) -> bytes:
    """One message's bytes (`opened` keeps each mbox open between calls)."""
    if kind == "eml":
        return (Path(entry.source) / entry.key).read_bytes()
    if kind == "maildir":
        return _maildir_file(Path(entry.source), entry.key).read_bytes()
    handle = opened.get(entry.source)
    if handle is None:
        handle = opened[entry.source] = open(entry.source, "rb")
    handle.seek(entry.start)
    handle.readline()  # the "From " line is the mbox's, not the message's
    return handle.read(entry.stop - handle.tell())


def _heads(kind: str, path: Path) -> Iterator[tuple[str, bytes, int, int]]:
    """(key, the first HEAD_BYTES, start, stop) of each message, in file order."""
    if kind == "eml":
        if not path.is_dir():
            raise ArchiveRefused(N_("%(path)s is not a folder of .eml files", path=str(path)))
        for name in sorted(entry.name for entry in os.scandir(path) if entry.is_file() and
                           not entry.name.startswith(".")):
            with open(path / name, "rb") as handle:
                yield name, handle.read(HEAD_BYTES), 0, 0
    elif kind == "maildir":
        if not (path / "cur").is_dir():
            raise ArchiveRefused(N_("%(path)s is not a Maildir (it has no cur/ and new/)", path=str(path)))
        for folder in ("new", "cur"):
            with os.scandir(path / folder) as listing:
                for entry in listing:
                    if entry.is_file() and not entry.name.startswith("."):
                        with open(entry.path, "rb") as handle:
                            yield f"{folder}/{entry.name}", handle.read(HEAD_BYTES), 0, 0
    else:
        if path.is_dir() or not path.exists():
            raise ArchiveRefused(N_("%(path)s is not an mbox file", path=str(path)))
        yield from _mbox_heads(path)


def _mbox_heads(path: Path) -> Iterator[tuple[str, bytes, int, int]]:
    """Each message of an mbox: every line that starts with "From " begins one (as Python's mailbox
    reads them); the blank line before it belongs to the separator."""
    number, start, head, size, blank_before = 0, None, [], 0, False
    with open(path, "rb") as handle:
        while True:
            position = handle.tell()
            line = handle.readline()
            if not line or line.startswith(b"From "):
                if start is not None:
                    stop = position - 1 if blank_before else position
                    yield str(number), b"".join(head)[:HEAD_BYTES], start, stop
                    number += 1
                if not line:
                    return
                start, head, size, blank_before = position, [], 0, False
                continue
            if start is None:
                continue  # text before the first "From " line is no message
            if size < HEAD_BYTES:
                head.append(line)
                size += len(line)
            blank_before = line == b"\n"


def _maildir_file(path: Path, key: str) -> Path:
    """The file of a Maildir message; one delivered to new/ may have moved to cur/ since, its flags added."""
    found = path / key
    if found.exists():
        return found
    name = key.split("/", 1)[1].split(":", 1)[0]
    for folder in ("cur", "new"):
        with os.scandir(path / folder) as listing:
            for entry in listing:
                if entry.name.split(":", 1)[0] == name:
                    return Path(entry.path)
    raise FileNotFoundError(found)


def _date_of(head: bytes) -> datetime | None:
    headers = BytesHeaderParser(policy=compat32).parsebytes(head.split(b"\n\n", 1)[0] + b"\n\n")
    try:
        found = email.utils.parsedate_to_datetime(headers.get("Date", "") or "")
    except (TypeError, ValueError, IndexError):
        return None
    if found is None:
        return None
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)
