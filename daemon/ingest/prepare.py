"""What can be done for a mail without the database, done beside the writer, in other processes.

Parsing, telling the language and writing attachment files take about a third
of a mail's processing and need nothing but the raw bytes and the config. One
Python process runs one thread of Python at a time, so the pipeline hands
them to `Preparer`, a pool of processes, while its own thread writes the
previous batch. The result, `Prepared`, is plain data that pickles; the
stages read it instead of doing the work again. A process that dies while
preparing (a mail that crashes a library) costs only that mail: the pool is
started again and the mail is quarantined with the reason, its batch-mates
prepared one by one.

`Preparer.call` runs other work there that only reads the database: the
sender has automatic mail rendered and composed by these processes, and
writes what they made.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from daemon.config import Config
from daemon.ingest.stages import attachments, language
from daemon.mail.language import Detected
from daemon.mail.parse import ParsedMail, parse

log = logging.getLogger("patroldesk.ingest")

@dataclass(frozen=True)
class Prepared:
    """One mail made ready for the stages: parsed, its language told, its files written; or why not."""
    mail: ParsedMail | None
    language: Detected | None = None
    failure: tuple[str, str] | None = None  # (reason, traceback) when it failed: the mail is quarantined
    files_written: bool = False  # its attachments are on disk (automatic mail's are written if it is kept)
    digests: tuple[str, ...] = ()  # each attachment's SHA-256, in order
    by: int = 0  # the process that prepared it


def prepare(raw: bytes, config: Config) -> Prepared:
    """Parse `raw`, tell its language and write its attachment files; never raises."""
    try:
        mail = parse(raw, max_depth=config.ingest.max_mime_depth)
        told = language.detect_for(mail, config)
        digests = attachments.digests_of(mail)
        if mail.automatic is None:
            attachments.store_files(mail, config, digests)
        return Prepared(mail, told, files_written=mail.automatic is None, digests=digests, by=os.getpid())
    except Exception as exc:  # noqa: BLE001 - the writer quarantines it, as it would had it parsed it
        return Prepared(None, failure=(f"{type(exc).__name__}: {exc}", traceback.format_exc()))


_CONFIG: Config | None = None
_FAULT: bytes | None = None  # tests only: a mail holding these bytes stops the process preparing it
_START_SECONDS = 60  # a new process imports the parser and loads the language models


def _start_process(config: Config, daemon: int, fault: bytes | None) -> None:
    global _CONFIG, _FAULT
    if fault == REFUSE_START:
        raise RuntimeError("this pool is told not to start (a test)")
    _CONFIG, _FAULT = config, fault
    from daemon import logs
    logs.configure(config.log.level)  # what it logs (a template that fails) reads like the daemon's lines
    threading.Thread(target=_end_with_parent, args=(daemon,), name="parent-watch", daemon=True).start()
    language.warm_up()  # the detector's models load once per process, not on its first mail


def _end_with_parent(parent: int) -> None:
    """End this process when the daemon that started it is gone (killed, say): nothing else would
    end it, and it would hold the daemon's stderr open."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


REFUSE_START = b"refuse to start"


def _call(function: Callable, args: tuple):
    if not _DATABASE_OPEN:
        from daemon.store import db
        db.open_database(_CONFIG)  # reads only: the daemon's own thread writes
        _DATABASE_OPEN.append(True)
    return function(_CONFIG, *args)


_DATABASE_OPEN: list = []


def _prepare_many(raws: list[bytes]) -> list[Prepared]:
    if _FAULT is not None and any(_FAULT in raw for raw in raws):
        os._exit(70)  # as a crash in a library would end it
    return [prepare(raw, _CONFIG) for raw in raws]


CHUNK = 10  # mails sent to a process at a time: small enough that the pipeline can take some back
GRACE_SECONDS = 0.1  # a piece in a process's hands takes about 10 ms; one much later is not waited for

_KILLED_ITS_READER = "reading this mail stopped the process that read it (a crash in the parser or a library it uses)"


class Preparer:
    """A pool of `processes` that prepares batches; with 0 processes, `submit` prepares in this thread."""

    def __init__(self, config: Config, processes: int, fault: bytes | None = None, take_back: bool = True):
        self.config = config
        self.processes = processes
        self.take_back = take_back  # prepare here what no process has begun, rather than wait for it
        self._fault = fault  # tests only: see _FAULT; REFUSE_START makes every process fail to start
        self._pool: ProcessPoolExecutor | None = None
        self._restarting = threading.Lock()  # the pipeline and the sender may both find the pool broken

    def start(self) -> None:
        """Start the processes (none when `processes` is 0 or the preparer was stopped)."""
        if self.processes and self._pool is None:
            # Started afresh, not forked: the daemon has threads by now, and a fork would copy the locks
            # they hold. Each process is the daemon's own child, and ends when it sees the daemon gone.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.processes, mp_context=context, initializer=_start_process,
                                             initargs=(self.config, os.getpid(), self._fault))
            self._pool.submit(_prepare_many, [])  # start the processes now rather than at the first mail

    def stop(self) -> None:
        self.processes = 0  # from now on everything is done in the caller's thread
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(self, raws: list[bytes]) -> Batch:
        """Start preparing `raws`; `Batch.results()` waits for them."""
        if self._pool is None:
            return Batch(self, raws, None)
        try:
            futures = [(start, self._pool.submit(_prepare_many, raws[start:start + CHUNK]))
                       for start in range(0, len(raws), CHUNK)]
        except (BrokenProcessPool, RuntimeError):
            self._restart()
            return Batch(self, raws, None, broken=True)
        return Batch(self, raws, futures)

    def _restart(self) -> None:
        with self._restarting:
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            self.start()

    def call(self, function: Callable, *args):
        """`function(config, *args)` in one of the processes, which may read the database (rendering
        automatic mail, say); here when there are none, or they fail."""
        if self._pool is not None:
            try:
                return self._pool.submit(_call, function, args).result()
            except (BrokenProcessPool, RuntimeError):
                self._healthy()
            except Exception:  # noqa: BLE001 - done here instead, where its errors are handled as ever
                log.exception("%s failed in a helper process; doing it in this one", function.__name__)
        return function(self.config, *args)

    def _one(self, raw: bytes) -> Prepared:
        """Prepare one mail alone in the pool; a mail that kills its process is quarantined for it."""
        if self._pool is None:
            return prepare(raw, self.config)
        try:
            return self._pool.submit(_prepare_many, [raw]).result()[0]
        except (BrokenProcessPool, RuntimeError):
            if not self._healthy():
                return prepare(raw, self.config)  # the pool itself is at fault, not this mail
            log.error("a mail stopped the process that was reading it; it is quarantined")
            return Prepared(None, failure=(_KILLED_ITS_READER, ""))

    def _healthy(self) -> bool:
        """Start the pool again and see it prepare nothing; if it cannot, prepare in this thread from now on."""
        self._restart()
        if self._pool is None:
            return False  # stopped: the caller does the work itself
        try:
            self._pool.submit(_prepare_many, []).result(timeout=_START_SECONDS)
            return True
        except Exception as exc:  # noqa: BLE001 - any failure to start means: no pool
            log.error("processes to prepare mail cannot be started (%s: %s); preparing mail in the "
                      "pipeline's own thread", type(exc).__name__, exc)
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            return False


def _ready(future: Future) -> bool:
    """Whether `future` is done or about to be; False when it was taken back (cancelled, or left to
    finish unread: preparing twice is harmless, attachment files being written by content)."""
    if future.done():
        return True
    if future.cancel():
        return False
    wait([future], timeout=GRACE_SECONDS)
    return future.done()


class Batch:
    """A batch being prepared."""

    def __init__(self, preparer: Preparer, raws: list[bytes], futures: list[tuple[int, Future]] | None,
                 broken: bool = False):
        self._preparer, self._raws, self._futures, self._broken = preparer, raws, futures, broken

    def results(self) -> list[Prepared]:
        """The prepared mails, in order. A piece no process has begun yet, or one still not done
        after GRACE_SECONDS (a process busy rendering a slow template), is done here instead of
        waited for: when the processes are behind (other daemons share the cores), the pipeline
        does not sit idle, and a slow template never holds up the mail behind it."""
        if self._broken:
            return [self._preparer._one(raw) for raw in self._raws]
        if self._futures is None:
            return [prepare(raw, self._preparer.config) for raw in self._raws]
        try:
            results = []
            for start, future in self._futures:
                if self._preparer.take_back and not _ready(future):
                    results += [prepare(raw, self._preparer.config) for raw in self._raws[start:start + CHUNK]]
                else:
                    results += future.result()
            return results
        except BrokenProcessPool:
            log.warning("a process preparing mail stopped; preparing its batch one mail at a time")
            self._preparer._restart()
            return [self._preparer._one(raw) for raw in self._raws]
