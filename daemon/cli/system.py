"""`patroldesk install-service` and `doctor`: the daemon and the console as systemd services,
and one line per thing an installation needs to run.
"""
from __future__ import annotations

import dataclasses
import grp
import json
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import click
import jinja2
import peewee

from daemon.cli.root import App, cli, pass_app, print_json
from daemon.config import EMBEDDED, Config, load_config
from daemon.errors import PatroldeskError
from daemon.store import db

SYSTEMD_DIR = Path("/etc/systemd/system")
INSTALLED_CONFIG = Path("/etc/patroldesk/patroldesk.toml")
STATE = "patroldesk"  # StateDirectory=: /var/lib/patroldesk for a system service
STATE_PATH = Path("/var/lib") / STATE
DAEMON_UNIT, CONSOLE_UNIT = "patroldesk.service", "patroldesk-console.service"
# What `run` may wait for once told to stop (the joins in Service.stop): the SMTP listener 15 s,
# the console 15 s, the pipeline 10 s, the outbox 10 s, the cluster heartbeat 5 s, and 10 s per mailbox.
STOP_SECONDS, STOP_SECONDS_PER_MAILBOX, STOP_MARGIN = 55, 10, 30
CONSOLE_GRACE_SECONDS = 30  # gunicorn's --graceful-timeout: requests in hand are answered first
HOMES = (Path("/home"), Path("/root"), Path("/run/user"))  # what ProtectHome= hides


# install-service ---------------------------------------------------------------------------------

@cli.command("install-service")
@click.option("--user", default="patroldesk", show_default=True, help="The system user both services run as.")
@click.option("--dir", "unit_dir", default=str(SYSTEMD_DIR), show_default=True, metavar="DIR",
              help="Where the unit files are written.")
@click.option("--config", "config_file", default=str(INSTALLED_CONFIG), show_default=True, metavar="PATH",
              help="The services' configuration: read if it exists, else written (var in the state folder, "
                   f"{STATE_PATH}).")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn's worker processes for the console.")
@click.option("--no-console", is_flag=True, help=f"No {CONSOLE_UNIT}: the daemon serves the console itself.")
@click.option("--no-user", is_flag=True, help="Do not create the system user (it exists, or is made otherwise).")
@click.option("--print", "only_print", is_flag=True, help="Print what would be written, and write nothing.")
def install_service(user, unit_dir, config_file, workers, no_console, no_user, only_print):
    """Write systemd units for the daemon (`patroldesk run`) and the console (gunicorn).

    Both run as a dedicated user with the state folder /var/lib/patroldesk, hardened,
    restarted on failure, logging to the journal. As root into /etc/systemd/system it also
    creates the user (no login shell) and the state folder; then it says what to run next."""
    config_path = Path(os.path.abspath(config_file))
    new_config = None if config_path.exists() else _render("patroldesk.toml.j2", **_names(),
                                                           console=not no_console and _executable("gunicorn"))
    config = _load_config(config_path, new_config)
    console, why_not = _console_wanted(config, no_console)
    units = _units(config, config_path, user, workers, console)
    files = {Path(unit_dir) / name: text for name, text in units.items()}
    if new_config is not None:
        files[config_path] = new_config
    if only_print:
        for path, text in files.items():
            click.echo(f"# {path}\n{text}")
        if why_not:
            click.echo(f"# no {CONSOLE_UNIT}: {why_not}")
        return
    real = Path(unit_dir).resolve() == SYSTEMD_DIR and os.geteuid() == 0
    if real and not no_user:
        _create_user(user)
    _write_files(units, Path(unit_dir), config_path, new_config, group=user if real else None)
    if why_not:
        click.echo(f"no {CONSOLE_UNIT}: {why_not}")
    if real:
        _make_state_folder(config, user)
    _echo_next_steps(config, config_path, user, units, made_state=real and STATE_PATH.exists())


def _names() -> dict:
    return {"state": STATE, "state_path": str(STATE_PATH), "daemon_unit": DAEMON_UNIT, "console_unit": CONSOLE_UNIT}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Config().templates_dir / "systemd")),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                             lstrip_blocks=True, autoescape=False)
    env.filters.update(word=_word, exec_word=lambda text: _word(text).replace("$", "$$"),
                       toml=lambda value: json.dumps(str(value), ensure_ascii=False))
    return env


def _render(template: str, **values) -> str:
    return _environment().get_template(template).render(**values)


def _word(text) -> str:
    """One word of a unit file: specifiers escaped, quoted where it holds spaces or quotes."""
    text = str(text)
    if any(ord(c) < 32 for c in text):
        raise PatroldeskError(f"a path or value for a unit file holds a control character: {text!r}")
    text = text.replace("%", "%%")
    if re.search(r"[\s\"'\\;]", text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _executable(name: str) -> Path | None:
    """`name` beside this Python (the environment patroldesk is installed in), or None."""
    path = Path(sys.executable).parent / name  # not resolved: a virtualenv's bin is the one that counts
    return path if os.access(path, os.X_OK) else None


def _load_config(path: Path, new_text: str | None) -> Config:
    """The installation's configuration (a ConfigError names its key); a new one is read from a scratch copy."""
    if new_text is None:
        return load_config(path, os.environ)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / path.name
        copy.write_text(new_text, encoding="utf-8")
        return dataclasses.replace(load_config(copy, {}), source=str(path))


def _console_wanted(config: Config, no_console: bool) -> tuple[bool, str]:
    """Whether to write the console's unit, and if not, why (said to the reader)."""
    if no_console:
        return False, ""
    serves = "the daemon serves the console" if config.web.enabled else "nothing serves the console"
    if not _executable("gunicorn"):
        return False, (f"gunicorn is not installed beside {sys.executable} (pip install 'patroldesk[serve]'), "
                       f"so {serves} ([web] enabled in {config.source})")
    if config.web.enabled:
        return False, (f"the daemon serves the console itself ([web] enabled = true in {config.source}); set it "
                       f"false and run this again to serve it with gunicorn")
    return True, ""


def _units(config: Config, config_path: Path, user: str, workers: int, console: bool) -> dict[str, str]:
    patroldesk = _executable("patroldesk")
    if patroldesk is None:
        raise PatroldeskError(f"no patroldesk executable beside {sys.executable}: install the package into "
                              f"that environment first")
    mailboxes = len(config.mailbox)
    values = dict(
        _names(), user=user, group=user, config_file=config_path, patroldesk=patroldesk,
        gunicorn=_executable("gunicorn"), kill=shutil.which("kill") or "/bin/kill", workers=workers,
        bind=f"[{config.web.host}]:{config.web.port}" if ":" in config.web.host else
        f"{config.web.host}:{config.web.port}",
        postgresql=db.sqlite_file(config) is None, read_write=_read_write_paths(config),
        protect_home=_protect_home(config, config_path),
        daemon_stop_seconds=max(90, STOP_SECONDS + STOP_SECONDS_PER_MAILBOX * mailboxes + STOP_MARGIN),
        console_grace_seconds=CONSOLE_GRACE_SECONDS, console_stop_seconds=CONSOLE_GRACE_SECONDS + 15)
    units = {DAEMON_UNIT: _render("patroldesk.service.j2", **values, capabilities=_daemon_capabilities(config))}
    if console:
        low = "CAP_NET_BIND_SERVICE" if 0 < config.web.port < 1024 else ""
        units[CONSOLE_UNIT] = _render("patroldesk-console.service.j2", **values, capabilities=low)
    return units


def _daemon_capabilities(config: Config) -> str:
    """Ports below 1024 need CAP_NET_BIND_SERVICE; nothing else does."""
    ports = [config.smtp.port] if config.smtp.enabled else []
    ports += [config.web.port] if config.web.enabled else []
    return "CAP_NET_BIND_SERVICE" if any(0 < port < 1024 for port in ports) else ""


def _read_write_paths(config: Config) -> list[str]:
    """What the services write outside the state folder (ProtectSystem=strict makes the rest read-only)."""
    paths = [config.var_dir]
    sqlite = db.sqlite_file(config)
    if sqlite is not None and not sqlite.is_relative_to(config.var_dir):
        paths.append(sqlite.parent)  # the file, its journal and its -wal/-shm beside it
    return [str(p) for p in paths if not p.is_relative_to(STATE_PATH)]


def _protect_home(config: Config, config_path: Path) -> str:
    """`yes` hides /home and /root: only `read-only` where the code, the config or var lives there."""
    used = [*_code_paths(), config_path, config.var_dir, config.templates_dir]
    return "read-only" if any(p.is_relative_to(home) for p in used for home in HOMES) else "yes"


def _code_paths() -> list[Path]:
    """What the services run: the environment's bin, the interpreter it links to, the standard library, our code."""
    return [Path(sys.executable).parent, Path(sys.executable).resolve(), Path(sys.base_prefix),
            Path(__file__).resolve().parent.parent]


def _create_user(user: str) -> None:
    try:
        pwd.getpwnam(user)
        return  # there already: left as it is
    except KeyError:
        pass
    nologin = shutil.which("nologin") or "/usr/sbin/nologin"
    subprocess.run(["useradd", "--system", "--user-group", "--home-dir", str(STATE_PATH), "--no-create-home",
                    "--shell", nologin, "--comment", "patroldesk helpdesk", user], check=True)
    click.echo(f"created the system user {user} (no login shell, home {STATE_PATH})")


def _known(name: str) -> bool:
    """A user and a group of this name exist (useradd --user-group makes both)."""
    try:
        pwd.getpwnam(name)
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _write_files(units: dict, unit_dir: Path, config_path: Path, new_config: str | None, group: str | None):
    unit_dir.mkdir(parents=True, exist_ok=True)
    for name, text in units.items():
        _write(unit_dir / name, text, 0o644)
        click.echo(f"wrote {unit_dir / name}")
    if new_config is None:
        click.echo(f"kept {config_path} as it is")
        return
    if not config_path.parent.exists():
        config_path.parent.mkdir(parents=True)
        config_path.parent.chmod(0o750)  # the umask would leave the service's group outside
    _write(config_path, new_config, 0o640)  # it may come to hold passwords: the service's group reads it
    if group is not None and _known(group):
        shutil.chown(config_path.parent, "root", group)
        shutil.chown(config_path, "root", group)
    elif group is not None:
        click.echo(f"warning: no group {group} yet: chown root:{group} {config_path.parent} {config_path} "
                   f"once there is, or the services cannot read it")
    click.echo(f"wrote {config_path} (a new configuration: var in {STATE_PATH})")


def _write(path: Path, text: str, mode: int) -> None:
    scratch = path.with_name(f".{path.name}.new")
    scratch.write_text(text, encoding="utf-8")
    scratch.chmod(mode)
    scratch.replace(path)


def _make_state_folder(config: Config, user: str) -> None:
    """The state folder now, so `init` can run as the user before the first start (systemd makes it then)."""
    if config.var_dir != STATE_PATH or STATE_PATH.exists() or not _known(user):
        return
    STATE_PATH.mkdir(mode=0o700, parents=True)
    shutil.chown(STATE_PATH, user, user)
    click.echo(f"made {STATE_PATH} (owner {user}, mode 0700)")


def _echo_next_steps(config: Config, config_path: Path, user: str, units: dict, made_state: bool) -> None:
    me = f"{_executable('patroldesk')} --config {config_path}"
    closed = [folder for path in _code_paths() for folder in path.parents if not folder.stat().st_mode & 0o001]
    if closed:
        click.echo(f"warning: {closed[-1]} is closed to other users, and patroldesk or its Python is in it: "
                   f"{user} cannot run them; install both where every user may read them (under /opt, say)")
    steps = [f"edit {config_path}: [support] addresses, [[mailbox]], [relay] (see config.example.toml)"]
    if not made_state and config.var_dir == STATE_PATH:
        steps.append(f"install -d -o {user} -g {user} -m 0700 {STATE_PATH}")
    steps += [f"runuser -u {user} -- {me} init     (the database and the admin's password)",
              f"runuser -u {user} -- {me} doctor",
              "systemctl daemon-reload",
              f"systemctl enable --now {' '.join(units)}",
              f"journalctl -u {DAEMON_UNIT} -f"]
    click.echo("next:\n" + "\n".join(f"  {step}" for step in steps))


# doctor ------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, warn or FAIL
    detail: str


WARN_FREE_BYTES, FAIL_FREE_BYTES, WARN_FREE_SHARE = 1 << 30, 100 << 20, 0.05


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: ok, and each check.")
@click.option("--timeout", default=10, show_default=True, type=click.IntRange(1, 300),
              help="Seconds to wait at most for each server (mailboxes, relay).")
@pass_app
def doctor(app: App, as_json: bool, timeout: int):
    """Check the configuration, database, migrations, mailboxes, relay, var and disk: one line each.

    Exits 1 when a check fails; warnings leave it 0."""
    checks = []
    for check in _checks(app, timeout):
        checks.append(check)
        if not as_json:
            click.echo(f"{check.status:<5} {check.name:<16} {check.detail}")
    failed = any(check.status == "FAIL" for check in checks)
    if as_json:
        print_json({"ok": not failed, "checks": [{"check": c.name, "status": c.status, "detail": c.detail}
                                                  for c in checks]})
    if failed:
        sys.exit(1)


def _checks(app: App, timeout: int):
    try:
        config = app.config
    except PatroldeskError as exc:
        yield Check("config", "FAIL", str(exc))
        return
    yield _config_check(config)
    database = _database_check(app)
    yield database
    if database.status == "ok":
        yield _migrations_check()
    for box in config.mailbox:
        yield _guarded(f"mailbox {box.label}", lambda: _probe_mailbox(box, min(box.timeout_seconds, timeout)))
    yield _guarded("relay", lambda: _probe_relay(config, timeout))
    yield _var_check(config)
    yield _disk_check(config)


def _guarded(name: str, probe) -> Check:
    """A network check: the probe's line, or FAIL with why."""
    try:
        return Check(name, "ok", probe())
    except Exception as exc:  # noqa: BLE001 - whatever stops the probe is the answer
        return Check(name, "FAIL", _why(exc))


def _config_check(config: Config) -> Check:
    if config.source == EMBEDDED:
        return Check("config", "ok", f"{EMBEDDED} (var {config.var_dir})")
    secrets = [config.database.password, config.relay.password, *(box.password for box in config.mailbox)]
    if os.stat(config.source).st_mode & 0o004 and any(secrets):
        return Check("config", "warn", f"{config.source} holds passwords and everyone may read it: "
                                       f"chmod o-r {config.source}")
    return Check("config", "ok", config.source)


def _database_check(app: App) -> Check:
    try:
        handle = app.database(current=False)
        handle.connect(reuse_if_open=True)
        handle.execute_sql("SELECT 1")
    except (PatroldeskError, peewee.PeeweeException, OSError) as exc:
        return Check("database", "FAIL", _why(exc))
    return Check("database", "ok", _database_name(app.config))


def _database_name(config: Config) -> str:
    sqlite = db.sqlite_file(config)
    if sqlite is not None:
        return f"SQLite {sqlite}"
    url = urlparse(config.database.url)
    return f"PostgreSQL {url.hostname or 'local socket'}{f':{url.port}' if url.port else ''}{url.path}"


def _migrations_check() -> Check:
    try:
        pending = db.pending_migrations()
    except peewee.PeeweeException as exc:
        return Check("migrations", "FAIL", _why(exc))
    if pending:
        return Check("migrations", "FAIL", f"{len(pending)} pending ({', '.join(pending)}): "
                                           f"run `patroldesk db upgrade`")
    return Check("migrations", "ok", "the schema is current")


def _probe_mailbox(box, timeout: int) -> str:
    """Connect, log in and open the folder read-only, as the poller would; what it found."""
    from imapclient import IMAPClient
    context = ssl.create_default_context(cafile=box.ca_file or None)
    where = f"{box.user}@{box.host}:{box.effective_port}"
    try:
        client = IMAPClient(box.host, port=box.effective_port, ssl=box.security == "ssl", ssl_context=context,
                            timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        raise _Failed(f"cannot connect to {box.host}:{box.effective_port}: {_why(exc)}") from None
    try:
        if box.security == "starttls":
            client.starttls(context)
        try:
            client.login(box.user, box.password)
        except Exception as exc:  # noqa: BLE001
            raise _Failed(f"IMAP login as {box.user!r} refused: {_why(exc)}") from None
        try:
            selected = client.select_folder(_server_folder(client, box.folder), readonly=True)
        except Exception as exc:  # noqa: BLE001
            raise _Failed(f"{where}: cannot open folder {box.folder!r}: {_why(exc)}") from None
        return f"{where} {box.folder}: {selected.get(b'EXISTS', 0)} message(s) waiting"
    finally:
        try:
            client.logout()
        except Exception:  # noqa: BLE001 - the answer is had; a rude goodbye changes nothing
            client.shutdown()


def _server_folder(client, folder: str) -> str:
    """The folder as the server names it: the config writes `/` where the server may use `.`."""
    if client.folder_exists(folder):
        return folder
    namespace = client.namespace().personal
    delimiter = namespace[0][1] if namespace and namespace[0][1] else "/"
    return folder.replace("/", delimiter)


def _probe_relay(config: Config, timeout: int) -> str:
    """Connect and EHLO (STARTTLS and login as configured), then QUIT: no mail is sent."""
    import smtplib
    relay = config.relay
    if not relay.host:
        return f"none configured: mail is written to {config.sent_dir} as .eml files"
    timeout = min(relay.timeout_seconds, timeout)
    context = ssl.create_default_context() if relay.security != "none" else None
    try:
        connection = (smtplib.SMTP_SSL(relay.host, relay.port, timeout=timeout, context=context)
                      if relay.security == "ssl" else smtplib.SMTP(relay.host, relay.port, timeout=timeout))
    except Exception as exc:  # noqa: BLE001
        raise _Failed(f"cannot connect to {relay.host}:{relay.port}: {_why(exc)}") from None
    try:
        code, _ = connection.ehlo()
        if code != 250:
            raise _Failed(f"{relay.host}:{relay.port} refused EHLO ({code})")
        if relay.security == "starttls":
            connection.starttls(context=context)
            connection.ehlo()
        if relay.user:
            try:
                connection.login(relay.user, relay.password)
            except smtplib.SMTPException as exc:
                raise _Failed(f"SMTP login as {relay.user!r} refused: {_why(exc)}") from None
    finally:
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()
    login = f", logged in as {relay.user}" if relay.user else ""
    return f"{relay.host}:{relay.port} ({relay.security}): EHLO answered{login}"


class _Failed(Exception):
    """A probe's failure, already said in words."""


def _why(exc: BaseException) -> str:
    """One readable line: no byte reprs, no errno numbers."""
    import smtplib
    if isinstance(exc, (_Failed, PatroldeskError)):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {' '.join(str(text).split())}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = exc.args[0] if exc.args else type(exc).__name__
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    if text.startswith(("b'", 'b"')) and text.endswith(text[1]):
        text = text[2:-1]  # imapclient quotes the server's bytes
    return " ".join(text.split()) or type(exc).__name__


def _var_check(config: Config) -> Check:
    """var and the files at its top (the database, the keys): this user's alone."""
    var = config.var_dir
    if not var.is_dir():
        return Check("var", "FAIL", f"{var} does not exist: `patroldesk init` makes it")
    mode = var.stat().st_mode
    owner, me = _user_name(var.stat().st_uid), _user_name(os.geteuid())
    if owner != me:
        return Check("var", "FAIL", f"{var} belongs to {owner}, not {me}: run this as the daemon's user "
                                    f"(runuser -u {owner} -- patroldesk doctor), or chown -R {me} {var}")
    if mode & 0o077:
        return Check("var", "FAIL", f"{var} is open to others (mode {mode & 0o777:04o}): chmod 700 {var}")
    if not os.access(var, os.W_OK | os.X_OK):
        return Check("var", "FAIL", f"{me} cannot write in {var}: chmod u+rwx {var}")
    sqlite = db.sqlite_file(config)
    files = [p for p in var.iterdir() if p.is_file()] + ([sqlite] if sqlite and sqlite.exists() else [])
    loose = sorted({str(p) for p in files if p.stat().st_mode & 0o077})
    if loose:
        return Check("var", "FAIL", f"open to others: {', '.join(loose)}: chmod 600 them")
    return Check("var", "ok", f"{var} (mode 0700, owner {me})")


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _disk_check(config: Config) -> Check:
    folder = config.var_dir
    while not folder.exists():
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    said = f"{_size(usage.free)} free of {_size(usage.total)} where {config.var_dir} is"
    if usage.free < FAIL_FREE_BYTES:
        return Check("disk", "FAIL", f"{said}: mail in would fail to spool")
    if usage.free < WARN_FREE_BYTES or usage.free < WARN_FREE_SHARE * usage.total:
        return Check("disk", "warn", f"{said}: running low")
    return Check("disk", "ok", said)


def _size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"
