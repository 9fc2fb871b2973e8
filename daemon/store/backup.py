"""Backup and restore: the database, the attachments and the secret keys of an installation in one archive.

A backup is a gzip'd tar whose first member is manifest.json: the format, the
patroldesk version, the database's kind and migrations, row counts per table,
the patrol log's newest hashes and the SHA-256 of every other member. The
database is a consistent snapshot taken while the daemon runs: SQLite's online
backup API in one step, or pg_dump of an exported snapshot (the counts are read
in that same snapshot). Attachments are copied after the snapshot; they are
written before the rows that name them commit, so every one the snapshot needs
is there.

A restore goes into an empty installation only, checks every member against the
manifest before it writes anything, and compares the restored counts and patrol
heads with the manifest. A SQLite backup restores into SQLite, or into
PostgreSQL (the migrations, then every table's rows in foreign-key order, the
sequences and the article search index); a PostgreSQL backup into PostgreSQL.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import graphlib
import gzip
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from peewee import PostgresqlDatabase, SqliteDatabase
from playhouse import db_url

import daemon
from daemon.config import Config
from daemon.errors import PatroldeskError
from daemon.store.db import MIGRATIONS, sqlite_file, upgrade

FORMAT = "patroldesk-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database/patroldesk.sqlite3", "postgresql": "database/patroldesk.pgdump"}
MIGRATIONS_TABLE = "schema_migration"
# Search indexes each database keeps its own way: not counted, rebuilt when crossing over.
DERIVED = ("article_fts", "message_fts", "article_search")
PATROL_CHAINS = ("patrol_report", "patrol_review")
_MEMBER_NAME = re.compile(r"(database/patroldesk\.(sqlite3|pgdump)|var/[A-Za-z0-9][A-Za-z0-9._-]*\.key|"
                          r"var/attachments/[0-9a-f]{2}/[0-9a-f]{64})")
_ATTACHMENT = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20
_ROWS_PER_BATCH = 5000


class BackupError(PatroldeskError):
    """A backup that cannot be written, or an archive that cannot be restored, with what to do."""


@dataclass
class Restored:
    manifest: dict
    kind: str  # the database restored into: sqlite or postgresql
    url: str  # where it is now
    counts: dict[str, int]
    files: int  # attachments and keys put in var/


def database_kind(url: str) -> str:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise BackupError(f"unknown database scheme {scheme or url!r}: use postgresql://… (or the configured sqlite:///)")


# Writing a backup -------------------------------------------------------------

def write_backup(config: Config, out: Path) -> dict:
    """Write the installation's backup to `out` (mode 0600, made whole or not at all); returns its manifest."""
    out = Path(os.path.abspath(out))
    if out.exists():
        raise BackupError(f"{out} exists: name a new file (a backup never overwrites one)")
    if not out.parent.is_dir():
        raise BackupError(f"no folder {out.parent} to write the backup in")
    kind = database_kind(config.database.url)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".patroldesk-backup-") as tmp:
        dump = Path(tmp) / Path(DATABASE_MEMBER[kind]).name
        facts = _sqlite_snapshot(config, dump) if kind == "sqlite" else _postgres_snapshot(config, dump)
        files = [(DATABASE_MEMBER[kind], dump)] + _var_files(config)
        manifest = _manifest(kind, facts, files)
        _write_archive(out, manifest, files)
    return manifest


def _sqlite_snapshot(config: Config, copy: Path) -> dict:
    source = sqlite_file(config)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    reader = sqlite3.connect(source, timeout=15)
    writer = sqlite3.connect(copy)
    try:
        reader.backup(writer)  # in one step: one read transaction, so a consistent copy while the daemon writes
        writer.execute("PRAGMA journal_mode=DELETE")  # the copy stands alone, without a -wal file
        return _facts(writer, "sqlite")
    finally:
        writer.close()
        reader.close()


def _postgres_snapshot(config: Config, dump: Path) -> dict:
    """pg_dump of a snapshot this connection exported, and the counts read in that same snapshot."""
    connection = _pg_connect(config.database.url, config.database.password)
    try:
        connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        facts = _facts(connection, "postgresql")
        _run_client(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                     "--file", str(dump)], config.database.url, config.database.password)
        connection.rollback()
    finally:
        connection.close()
    return facts


def _var_files(config: Config) -> list[tuple[str, Path]]:
    """The secret keys kept in var/ and every stored attachment, as (member name, path)."""
    var = config.var_dir
    files = [(f"var/{path.name}", path) for path in sorted(var.glob("*.key")) if path.is_file()]
    root = config.attachments_dir
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2:
                files += [(f"var/attachments/{folder.name}/{path.name}", path) for path in sorted(folder.iterdir())
                          if _ATTACHMENT.fullmatch(path.name) and path.is_file()]  # not a half-written .part
    return files


def _manifest(kind: str, facts: dict, files: list[tuple[str, Path]]) -> dict:
    members = {name: {"sha256": _sha256(path), "size": path.stat().st_size} for name, path in files}
    attachments = [m for name, m in members.items() if name.startswith("var/attachments/")]
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "patroldesk": daemon.__version__,
        "database": kind, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **facts,
        "attachments": {"files": len(attachments), "bytes": sum(m["size"] for m in attachments)},
        "keys": sorted(name.removeprefix("var/") for name in members if name.endswith(".key")),
        "members": members,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_archive(out: Path, manifest: dict, files: list[tuple[str, Path]]) -> None:
    partial = out.with_name(f".{out.name}.{secrets.token_hex(6)}.part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
            data = json.dumps(manifest, indent=1, sort_keys=True).encode()
            tar.addfile(_member(MANIFEST, len(data)), fileobj=_Bytes(data))
            for name, path in files:
                with open(path, "rb") as handle:
                    tar.addfile(_member(name, manifest["members"][name]["size"]), fileobj=handle)
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(dt.datetime.now().timestamp())
    return info


class _Bytes:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.at + size
        chunk, self.at = self.data[self.at:end], min(end, len(self.data))
        return chunk


# What a database holds: counts, the patrol heads, the migrations ------------

def _facts(connection, kind: str) -> dict:
    tables = _tables(connection, kind)
    counts = {table: _one(connection, f'SELECT count(*) FROM "{table}"') for table in tables
              if table not in DERIVED}
    patrol = {}
    for chain in PATROL_CHAINS:
        newest = _rows(connection, f'SELECT "seq", "hash" FROM "{chain}" ORDER BY "seq" DESC LIMIT 1') \
            if chain in tables else []
        patrol[chain] = {"count": counts.get(chain, 0), "seq": newest[0][0] if newest else 0,
                         "hash": newest[0][1] if newest else ""}
    migrations = [row[0] for row in _rows(connection, f'SELECT "name" FROM "{MIGRATIONS_TABLE}" ORDER BY "name"')] \
        if MIGRATIONS_TABLE in tables else []
    return {"migrations": migrations, "counts": counts, "patrol": patrol}


def _tables(connection, kind: str) -> list[str]:
    if kind == "sqlite":
        rows = _rows(connection, "SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        virtual = [name for name, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL TABLE")]
        return sorted(name for name, _ in rows if not name.startswith("sqlite_")
                      and not any(name == v or name.startswith(v + "_") for v in virtual)) + virtual
    return sorted(row[0] for row in _rows(connection, "SELECT table_name FROM information_schema.tables "
                                                      "WHERE table_schema = current_schema() "
                                                      "AND table_type = 'BASE TABLE'"))


def _rows(connection, sql: str, params: tuple = ()) -> list[tuple]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _one(connection, sql: str, params: tuple = ()):
    return _rows(connection, sql, params)[0][0]


def _pg_connect(url: str, password: str = ""):
    import psycopg2
    try:
        return psycopg2.connect(url, **({"password": password} if password and not urlparse(url).password else {}))
    except psycopg2.OperationalError as exc:
        raise BackupError(f"cannot reach the PostgreSQL database {_safe(url)}: "
                          f"{str(exc).strip().splitlines()[0]}") from None


def _safe(url: str) -> str:
    """A database address without its password, fit to print."""
    parts = urlparse(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user.partition(':')[0]}@{host}").geturl()


def _run_client(command: list[str], url: str, password: str = "") -> None:
    """A PostgreSQL client program (pg_dump, pg_restore) on the database at `url`; its last error line if it
    fails. The password goes in its environment, never on its command line, where `ps` shows it."""
    from urllib.parse import unquote
    password = unquote(urlparse(url).password or "") or password
    command = [*command, "--dbname", _safe(url)]
    env = dict(os.environ, **({"PGPASSWORD": password} if password else {}))
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed: install the PostgreSQL client programs "
                          f"(of the server's major version or newer)") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(f"{command[0]} failed: {lines[-1] if lines else f'exit {done.returncode}'}")


# Restoring ------------------------------------------------------------------

def read_manifest(archive: Path) -> dict:
    """The manifest of a backup archive, or BackupError saying why the file is not one."""
    with _open_archive(archive) as tar:
        return _read_manifest(tar, archive)


def restore_backup(config: Config, archive: Path, into: str | None = None) -> Restored:
    """Restore `archive` into the configured installation (the database at `into`, when given): refused
    unless it is empty; every member is checked against the manifest before anything is written."""
    url = into or config.database.url
    kind = database_kind(url)
    if into and kind != "postgresql":
        raise BackupError(f"--into takes a PostgreSQL database (postgresql://…), not {_safe(into)}")
    password = "" if into else config.database.password
    with _open_archive(archive) as tar:
        manifest = _read_manifest(tar, archive)
        _refuse_to_cross(manifest, kind)
        _refuse_a_full_target(config, manifest, url, password)
        config.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=config.var_dir, prefix=".restore-"))
        try:
            _extract_checked(tar, manifest, staging, archive)
            _restore_database(config, manifest, staging, url, password)
            files = _place_var_files(config, staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    counts = _restored_facts(url, password)
    _compare(manifest, counts, kind)
    return Restored(manifest, kind, url, counts["counts"], files)


@contextlib.contextmanager
def _open_archive(archive: Path):
    """The archive opened for reading; a file that is not a gzip'd tar, or is cut short, is a BackupError."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"no backup at {archive}")
    try:
        tar = tarfile.open(archive, mode="r:gz")
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise BackupError(f"{archive} is not a patroldesk backup (not a gzip'd tar archive: {exc})") from None
    try:
        yield tar
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise BackupError(f"{archive} is damaged or cut short ({exc or type(exc).__name__}); "
                          f"nothing was restored") from None
    finally:
        tar.close()


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile() or first.size > 64 << 20:
        raise BackupError(f"{archive} is not a patroldesk backup (it does not begin with {MANIFEST})")
    try:
        manifest = json.loads(tar.extractfile(first).read())
    except (ValueError, UnicodeDecodeError):
        raise BackupError(f"{archive} is not a patroldesk backup (its {MANIFEST} is not JSON)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is not a patroldesk backup (its {MANIFEST} is not a patroldesk manifest)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{archive} is a backup of format {manifest.get('format_version')}; this patroldesk "
                          f"reads format {FORMAT_VERSION}: restore it with the version that made it "
                          f"({manifest.get('patroldesk')})")
    members = manifest.get("members")
    if not isinstance(members, dict) or not all(_MEMBER_NAME.fullmatch(str(name)) for name in members) \
            or DATABASE_MEMBER.get(manifest.get("database")) not in members:
        raise BackupError(f"{archive}: its {MANIFEST} is damaged (members missing or not of a backup)")
    return manifest


def _refuse_to_cross(manifest: dict, kind: str) -> None:
    if manifest["database"] == "postgresql" and kind != "postgresql":
        raise BackupError("this backup is of a PostgreSQL database: restore it into PostgreSQL "
                          "(--into postgresql://…, or a configuration whose [database] url is one)")
    known = {path.stem for path in MIGRATIONS.glob("[0-9]*.py")}
    unknown = sorted(set(manifest.get("migrations", ())) - known)
    if unknown:
        raise BackupError(f"this backup was made by a newer patroldesk ({manifest.get('patroldesk')}, migration "
                          f"{unknown[-1]}): restore it with that version or a newer one")


def _refuse_a_full_target(config: Config, manifest: dict, url: str, password: str) -> None:
    """An installation is empty when its database holds no ticket and no user, and var/ no attachment
    (nor a key other than the backup's)."""
    found = []
    held = _people_and_tickets(url, password)
    if held:
        found.append(f"the database {_where(url)} holds {held}")
    if config.attachments_dir.is_dir() and any(p.is_file() for p in config.attachments_dir.rglob("*")):
        found.append(f"{config.attachments_dir} holds attachments")
    for name in manifest.get("keys", ()):
        path = config.var_dir / name
        if path.is_file() and _sha256(path) != manifest["members"][f"var/{name}"]["sha256"]:
            found.append(f"{path} is another key than the backup's")
    if found:
        raise BackupError("a backup restores into an empty installation, and this one is not: " + "; ".join(found)
                          + ". Restore into a new folder (and a new database), or move these away")


def _where(url: str) -> str:
    return str(Path(url[len("sqlite:///"):])) if database_kind(url) == "sqlite" else _safe(url)


def _people_and_tickets(url: str, password: str) -> str:
    if database_kind(url) == "sqlite":
        path = Path(url[len("sqlite:///"):])
        if not path.exists():
            return ""
        connection = sqlite3.connect(path, timeout=15)
    else:
        connection = _pg_connect(url, password)
    try:
        tables = set(_tables(connection, database_kind(url)))
        held = {table: _one(connection, f'SELECT count(*) FROM "{table}"') for table in ("ticket", "user")
                if table in tables}
    finally:
        connection.close()
    return " and ".join(f"{count} {table}{'s' if count != 1 else ''}" for table, count in held.items() if count)


def _extract_checked(tar: tarfile.TarFile, manifest: dict, staging: Path, archive: Path) -> None:
    """Every member the manifest names, once, with its SHA-256; nothing else, and no path outside staging."""
    expected, seen = manifest["members"], set()
    for member in tar:
        name = member.name
        if name == MANIFEST and member.offset == 0:  # read already, by _read_manifest
            continue
        if name not in expected or name in seen or not member.isfile():
            raise BackupError(f"{archive}: {name!r} is not in its manifest (the archive was altered)")
        seen.add(name)
        target = staging / name
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        digest = hashlib.sha256()
        source = tar.extractfile(member)
        with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                handle.write(chunk)
        if digest.hexdigest() != expected[name]["sha256"]:
            raise BackupError(f"{archive}: {name} does not match its SHA-256 in the manifest (the archive was "
                              f"altered or damaged); nothing was restored")
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"{archive}: {len(missing)} member(s) of the manifest are missing, "
                          f"{missing[0]} first; nothing was restored")


def _restore_database(config: Config, manifest: dict, staging: Path, url: str, password: str) -> None:
    dump = staging / DATABASE_MEMBER[manifest["database"]]
    if manifest["database"] == "postgresql":
        _pg_restore(dump, url, password)
    elif database_kind(url) == "sqlite":
        _put_sqlite_file(dump, Path(url[len("sqlite:///"):]))
    else:
        copy_sqlite_to_postgres(dump, url, password)


def _pg_restore(dump: Path, url: str, password: str) -> None:
    connection = _pg_connect(url, password)
    try:
        has_schema = MIGRATIONS_TABLE in _tables(connection, "postgresql")
    finally:
        connection.close()
    # An empty schema (`db upgrade` ran there) is replaced by the backup's.
    _run_client(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                 *(["--clean", "--if-exists"] if has_schema else []), str(dump)], url, password)


def _put_sqlite_file(copy: Path, path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)  # of an empty database: they must not be replayed over the restored file
    shutil.move(copy, path)
    path.chmod(0o600)


def _place_var_files(config: Config, staging: Path) -> int:
    placed = 0
    for path in sorted((staging / "var").rglob("*")) if (staging / "var").is_dir() else ():
        if path.is_file():
            target = config.var_dir / path.relative_to(staging / "var")
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.replace(path, target)
            placed += 1
    return placed


def _restored_facts(url: str, password: str) -> dict:
    if database_kind(url) == "sqlite":
        connection = sqlite3.connect(Path(url[len("sqlite:///"):]), timeout=15)
    else:
        connection = _pg_connect(url, password)
    try:
        return _facts(connection, database_kind(url))
    finally:
        connection.close()


def _compare(manifest: dict, restored: dict, kind: str) -> None:
    """The restored rows against the manifest: every table's count, and the patrol log's newest entries."""
    crossed = manifest["database"] != kind
    wrong = [f"{table}: {restored['counts'].get(table)} rows, the backup had {count}"
             for table, count in manifest["counts"].items()
             if not (crossed and table == MIGRATIONS_TABLE) and restored["counts"].get(table) != count]
    wrong += [f"{chain}: newest entry {restored['patrol'][chain]['seq']}, the backup's is {head['seq']}"
              for chain, head in manifest["patrol"].items() if restored["patrol"].get(chain) != head]
    if wrong:
        raise BackupError("the restored database does not match the backup's manifest: " + "; ".join(wrong))


# SQLite into PostgreSQL -----------------------------------------------------

def copy_sqlite_to_postgres(sqlite_path: Path, url: str, password: str = "") -> dict[str, int]:
    """Every table's rows of a SQLite database into an empty PostgreSQL one, in one transaction: both
    brought to this code's migrations first, rows in foreign-key order and in batches, then the
    sequences set past the highest ids and the article search index built from SQLite's. Returns the
    rows copied per table."""
    source_db = SqliteDatabase(str(sqlite_path))
    upgrade(source_db)  # an older backup: the same columns on both sides
    source_db.close()
    kwargs = {"password": password} if password and not urlparse(url).password else {}
    target = db_url.connect(url, **kwargs)
    if not isinstance(target, PostgresqlDatabase):
        raise BackupError(f"{_safe(url)} is not a PostgreSQL database")
    source = sqlite3.connect(sqlite_path)
    try:
        upgrade(target)
        with target.atomic():
            copied = {table: _copy_table(source, target, table) for table in _in_dependency_order(target)}
            _reset_sequences(target, list(copied))
            copied["article_search"] = _build_article_search(source, target)
        return copied
    finally:
        source.close()
        target.close()


def _in_dependency_order(target: PostgresqlDatabase) -> list[str]:
    tables = [t for t in target.get_tables() if t not in DERIVED and t != MIGRATIONS_TABLE]
    graph = {t: {fk.dest_table for fk in target.get_foreign_keys(t) if fk.dest_table != t} for t in tables}
    try:
        return [t for t in graphlib.TopologicalSorter(graph).static_order() if t in graph]
    except graphlib.CycleError as exc:
        raise BackupError(f"the tables' foreign keys form a cycle ({' -> '.join(exc.args[1])}): "
                          f"they cannot be copied in order") from None


def _copy_table(source: sqlite3.Connection, target: PostgresqlDatabase, table: str) -> int:
    columns = target.get_columns(table)
    have = {row[1] for row in source.execute(f'PRAGMA table_info("{table}")')}
    missing = [c.name for c in columns if c.name not in have and not c.null and c.default is None]
    if missing:
        raise BackupError(f"the SQLite database has no {table}.{missing[0]}, which PostgreSQL needs")
    columns = [c for c in columns if c.name in have]
    booleans = [i for i, c in enumerate(columns) if c.data_type == "boolean"]
    names = ", ".join(f'"{c.name}"' for c in columns)
    # rowid order: ids ascending, so a row that names an earlier row of its own table comes after it.
    rows = source.execute(f'SELECT {names} FROM "{table}" ORDER BY rowid')
    from psycopg2.extras import execute_values
    cursor = target.cursor()
    copied = 0
    while batch := rows.fetchmany(_ROWS_PER_BATCH):
        if booleans:
            batch = [_with_booleans(row, booleans) for row in batch]
        try:
            execute_values(cursor, f'INSERT INTO "{table}" ({names}) VALUES %s', batch, page_size=1000)
        except Exception as exc:  # psycopg2's DataError, IntegrityError...: which table, in one line
            raise BackupError(f"copying {table} into PostgreSQL failed: {str(exc).strip().splitlines()[0]}") \
                from None
        copied += len(batch)
    return copied


def _with_booleans(row: tuple, booleans: list[int]) -> tuple:
    values = list(row)
    for i in booleans:
        if values[i] is not None:
            values[i] = bool(int(values[i]))
    return tuple(values)


def _reset_sequences(target: PostgresqlDatabase, tables: list[str]) -> None:
    for table in tables:
        for column in target.get_columns(table):
            if (column.default or "").startswith("nextval("):
                target.execute_sql(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s), "
                    f'COALESCE((SELECT MAX("{column.name}") FROM "{table}"), 0) + 1, false)',
                    (f'"{table}"', column.name))


def _build_article_search(source: sqlite3.Connection, target: PostgresqlDatabase) -> int:
    """PostgreSQL's article index from SQLite's FTS5 rows: the same terms, weighted as
    daemon.knowledge.search writes them (title A, keywords B, body D)."""
    if not target.table_exists("article_search"):
        return 0
    rows = source.execute('SELECT rowid, "title", "body", "keywords" FROM "article_fts" ORDER BY rowid')
    from psycopg2.extras import execute_values
    cursor, built = target.cursor(), 0
    template = ("(%s, %s, setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'B') "
                "|| setweight(to_tsvector('simple', %s), 'D'))")
    while batch := rows.fetchmany(_ROWS_PER_BATCH):
        values = [(article, " ".join(sorted(set(f"{title} {body} {keywords}".split()))), title, keywords, body)
                  for article, title, body, keywords in batch]
        execute_values(cursor, 'INSERT INTO "article_search" ("article_id", "terms", "document") VALUES %s',
                       values, template=template, page_size=1000)
        built += len(batch)
    return built
