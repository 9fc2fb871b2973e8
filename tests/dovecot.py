"""A real Dovecot IMAP server for the test suite.

`Dovecot(root)` writes a self-contained configuration into `root` (nothing
under /etc/dovecot is read or changed), runs the master in the foreground
(`dovecot -F -c root/dovecot.conf`) on 127.0.0.1 and a free port, and keeps
the sockets, state, log, users and mail inside `root`:

    root/dovecot.conf   the configuration, rewritten on every start
    root/dovecot.log    everything Dovecot logs, start-up errors included
    root/run/           base_dir: master.pid and the unix sockets
    root/state/         state_dir
    root/users/<name>   one passwd-file per user: `name:{PLAIN}password`
    root/mail/<name>/Maildir   the user's mail

Run as root, the login processes run as `dovenull`, the internal services and
the mail processes as `dovecot`, so they must be able to reach `root`: see
`running_dovecot`. Run as anyone else, every service runs as that user.

Users get one passwd-file each (the passdb path is `users/%u`) because
Dovecot checks a passwd-file for changes at most once a second: a user
appended to a shared file right after another login would be unknown until
the next second.

`Account` is a user on the server with a few plain IMAP helpers (imapclient)
for arranging and checking mailboxes in tests.
"""
from __future__ import annotations

import contextlib
import grp
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

HOST = "127.0.0.1"
TIMEOUT = 10.0  # seconds to start or stop
# sockaddr_un.sun_path holds 107 bytes; the longest socket Dovecot 2.3 makes
# in base_dir is "token-login/imap-urlauth".
_MAX_BASE_DIR = 107 - len("/token-login/imap-urlauth")
_USER_NAME = re.compile(r"[a-z0-9][a-z0-9._@+-]*")

_CONFIG = """\
# Written by tests/dovecot.py for one test run. Self-contained: no includes.
protocols = imap
listen = {host}
base_dir = {base_dir}
state_dir = {state_dir}
log_path = {log}
info_log_path = {log}

# TLS with a self-signed certificate for 127.0.0.1 (Dovecot.ca_file): STARTTLS on the
# imap port, implicit TLS on the imaps port; plain logins stay allowed.
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_dh =
disable_plaintext_auth = no
# A failed login answers within half a second (not 2 s), and repeated
# failures from 127.0.0.1 are not throttled (no anvil auth penalty).
auth_failure_delay = 0

first_valid_uid = {first_valid_uid}
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {users_dir}/%u
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group}
}}
mail_location = maildir:{mail_dir}/%u/Maildir

# Access control, so a test can give a user read-only rights (Dovecot.limit_rights).
mail_plugins = acl
protocol imap {{
  mail_plugins = $mail_plugins imap_acl
}}
plugin {{
  acl = vfile:{acl_file}:cache_secs=0
}}

service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


@contextlib.contextmanager
def running_dovecot(directory: Path) -> Iterator[Dovecot]:
    """A started Dovecot for the block, stopped after it, its files in `directory`.

    Run as root, the server lives in a new directory in the system's temporary
    directory instead, removed afterwards, and its log is copied to
    `directory`: Dovecot's own users cannot reach into pytest's directories,
    which are 0700 under /tmp/pytest-of-root, and pytest resets that one to
    0700 whenever a run starts, so opening it up would not last.
    """
    private = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="dovecot-")) if private else directory
    if private:
        root.chmod(0o711)  # others may pass through, not list
    server = Dovecot(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if private:
            if server.log_path.exists():
                shutil.copy(server.log_path, directory / "dovecot.log")
            shutil.rmtree(root, ignore_errors=True)


def dovecot_binary() -> str | None:
    """The dovecot executable: `dovecot` on PATH, else /usr/sbin/dovecot; None if neither."""
    fallback = "/usr/sbin/dovecot"
    return shutil.which("dovecot") or (fallback if os.access(fallback, os.X_OK) else None)


class Dovecot:
    """A Dovecot IMAP server living in the directory `root`.

    `start()` picks a free port on 127.0.0.1 the first time and keeps it
    across `stop()`/`start()`, so a restarted server is found where it was.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.host = HOST
        self.port: int | None = None
        self.config_path = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self.base_dir = self.root / "run"
        self.state_dir = self.root / "state"
        self.users_dir = self.root / "users"
        self.mail_dir = self.root / "mail"
        self.acl_file = self.root / "acl"  # global ACL: "<mailbox pattern> user=<name> <rights>" lines
        self.ca_file = self.root / "tls.crt"  # the server's self-signed certificate: trust it to verify
        self.tls_port: int | None = None  # implicit TLS (imaps)
        self._process: subprocess.Popen | None = None
        self._names = itertools.count(1)

    @property
    def running(self) -> bool:
        """True while the master process started by `start()` is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and return once it greets IMAP clients with `* OK`."""
        if self.running:
            raise RuntimeError(f"dovecot is already running on {self.host}:{self.port}")
        binary = dovecot_binary()
        if binary is None:
            raise FileNotFoundError("dovecot is not installed")
        if self.port is None:
            self.port = _free_port(self.host)
            self.tls_port = _free_port(self.host)
        self._prepare()
        with open(self.log_path, "ab") as log:
            # -F: the master stays our child, so its exit status and pid are at
            # hand (it is also the pid in run/master.pid). Early errors, such as
            # a bad configuration, go to stderr and so into the log file. In a
            # process group of its own, the master and all it starts can be
            # ended together and nothing else.
            self._process = subprocess.Popen(
                [binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_ready()

    def stop(self) -> None:
        """Stop the server as a restart or a crash would: connected clients are cut off.

        SIGTERM to the master, which stops its services (Dovecot 2.3 pauses
        about a second doing so); then SIGTERM to what is left of its process
        group: the master exits without ending the imap processes of connected
        clients, which would go on serving them. Returns once the port is
        closed. Stopping a stopped server does nothing.
        """
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                _end_group(process.pid, signal.SIGKILL)
                process.wait()
                raise RuntimeError(f"dovecot ignored SIGTERM for {TIMEOUT}s and was killed\n{self._log_tail()}")
        _end_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + TIMEOUT
        while _accepts_connections(self.host, self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.host}:{self.port} still accepts connections after dovecot exited")
            time.sleep(0.01)

    def restart(self) -> None:
        """Stop and start again, on the same port and with the same users and mail."""
        self.stop()
        self.start()

    def log_text(self) -> str:
        """Everything Dovecot has logged so far ("" before the first start)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def add_user(self, name: str | None = None, password: str = "secret") -> Account:
        """Create a user who can log in at once, even while the server runs.

        Without a name the user is called u1, u2, ... (the first name not yet
        taken). Names are lower case, as Dovecot lower-cases the login name.
        """
        port = self._require_port()
        if name is None:
            name = next(n for n in (f"u{i}" for i in self._names) if not (self.users_dir / n).exists())
        if not _USER_NAME.fullmatch(name):
            raise ValueError(f"user name {name!r} does not match {_USER_NAME.pattern}")
        if ":" in password or "\n" in password:
            raise ValueError("a password cannot hold ':' or a line break (passwd-file format)")
        path = self.users_dir / name
        if path.exists():
            raise ValueError(f"user {name!r} exists already")
        staging = path.with_name(f".{name}.tmp")
        staging.write_text(f"{name}:{{PLAIN}}{password}\n")
        staging.chmod(0o644)  # read by the auth process, which runs as the internal user
        staging.rename(path)  # the auth process never sees half a line
        return Account(self.host, port, name, password)

    def limit_rights(self, user: str, rights: str, mailbox: str = "*") -> None:
        """Give `user` only `rights` (IMAP ACL letters, e.g. "lr": see and read) on `mailbox`."""
        with open(self.acl_file, "a") as acl:
            acl.write(f"{mailbox} user={user} {rights}\n")

    # -- internals --

    def _prepare(self) -> None:
        self._prepare_dirs()
        if len(str(self.base_dir)) > _MAX_BASE_DIR:
            raise RuntimeError(
                f"{self.base_dir} is too long for unix socket paths under it "
                f"(at most {_MAX_BASE_DIR} characters): use a shorter pytest --basetemp"
            )
        users = _service_users()
        self.config_path.write_text(_CONFIG.format(
            host=self.host, port=self.port,
            base_dir=self.base_dir, state_dir=self.state_dir, log=self.log_path,
            users_dir=self.users_dir, mail_dir=self.mail_dir, acl_file=self.acl_file, **users,
            tls_port=self.tls_port, cert=self.ca_file, key=self.root / "tls.key",
        ))

    def _prepare_dirs(self) -> None:
        if self.mail_dir.is_dir():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            blocked = [d for d in (self.root, *self.root.parents) if not d.stat().st_mode & stat.S_IXOTH]
            if blocked:
                raise RuntimeError(f"Dovecot's users cannot reach {self.root}: {blocked[0]} lacks o+x "
                                   "(use running_dovecot, or a directory in the system's /tmp)")
        for directory in (self.base_dir, self.state_dir, self.users_dir):
            directory.mkdir(exist_ok=True)
            directory.chmod(0o755)
        self.mail_dir.mkdir(exist_ok=True)
        self.mail_dir.chmod(0o700)
        self.acl_file.touch()
        self.acl_file.chmod(0o644)  # read by the mail processes
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", f"/CN={self.host}", "-addext", f"subjectAltName=IP:{self.host}",
                        "-keyout", str(self.root / "tls.key"), "-out", str(self.ca_file)],
                       check=True, capture_output=True)
        users = _service_users()
        if os.geteuid() == 0:
            # The mail processes create <user>/Maildir here as the userdb user.
            os.chown(self.mail_dir, pwd.getpwnam(users["mail_user"]).pw_uid,
                     grp.getgrnam(users["mail_group"]).gr_gid)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while True:
            status = self._process.poll()
            if status is not None:
                self.stop()
                raise RuntimeError(f"dovecot exited with status {status} while starting\n{self._log_tail()}")
            if _greeting(self.host, self.port).startswith(b"* OK"):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"dovecot did not greet on {self.host}:{self.port} within {TIMEOUT}s\n{self._log_tail()}")
            time.sleep(0.01)

    def _log_tail(self) -> str:
        return f"--- {self.log_path} ---\n{self.log_text()[-8000:]}"

    def _require_port(self) -> int:
        if self.port is None:
            raise RuntimeError("start() the server first: its port is chosen then")
        return self.port


@dataclass
class Account:
    """A user on a Dovecot server, with helpers that each use one IMAP connection."""

    host: str
    port: int
    user: str
    password: str

    def client(self) -> IMAPClient:
        """A logged-in IMAPClient; close it, or use it as `with account.client() as imap:`."""
        client = IMAPClient(self.host, port=self.port, ssl=False)
        try:
            client.login(self.user, self.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def append(self, folder: str, messages: list[bytes]) -> None:
        """Append raw messages to folder, in order, creating the folder if missing.

        Dovecot returns a message byte for byte when its lines end in CRLF.
        """
        with self.client() as imap:
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
            for message in messages:
                imap.append(folder, message)

    def count(self, folder: str) -> int:
        """The number of messages in folder; 0 if there is no such folder."""
        with self.client() as imap:
            if not imap.folder_exists(folder):
                return 0
            return imap.folder_status(folder, ["MESSAGES"])[b"MESSAGES"]

    def fetch_all(self, folder: str) -> list[bytes]:
        """The raw messages in folder, by UID (BODY.PEEK[]: \\Seen stays as it was); [] if no such folder."""
        with self.client() as imap:
            if not imap.folder_exists(folder):
                return []
            imap.select_folder(folder, readonly=True)
            uids = sorted(imap.search("ALL"))
            fetched = imap.fetch(uids, ["BODY.PEEK[]"])
            return [fetched[uid][b"BODY[]"] for uid in uids]

    def folders(self) -> list[str]:
        """The names of all folders, sorted."""
        with self.client() as imap:
            return sorted(name for _flags, _delimiter, name in imap.list_folders())

    def flags(self, folder: str) -> dict[int, tuple]:
        """{uid: flags} for the messages in folder.

        \\Recent is left out: it depends on which session looked first.
        """
        with self.client() as imap:
            imap.select_folder(folder, readonly=True)
            flags = imap.get_flags(imap.search("ALL"))
            return {uid: tuple(f for f in found if f != b"\\Recent") for uid, found in sorted(flags.items())}

    def delete_folder(self, folder: str) -> None:
        """Delete folder and its messages (an IMAP error if it does not exist)."""
        with self.client() as imap:
            imap.delete_folder(folder)


def _service_users() -> dict:
    """Who Dovecot's processes run as; see the module docstring."""
    if os.geteuid() == 0:
        return dict(first_valid_uid=1, login_user="dovenull", internal_user="dovecot",
                    internal_group="dovecot", mail_user="dovecot", mail_group="dovecot")
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return dict(first_valid_uid=os.geteuid(), login_user=user, internal_user=user,
                internal_group=group, mail_user=user, mail_group=group)


def _end_group(group: int, first_signal: int) -> None:
    """Signal the processes left in a process group and wait until they have exited.

    Whatever outlives the signal by two seconds gets SIGKILL. Exited orphans
    are reaped by init, sometimes a second later, so zombies are not waited for.
    """
    for sig in (first_signal, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, sig)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if not _group_has_live_processes(group):
                return
            time.sleep(0.01)


def _group_has_live_processes(group: int) -> bool:
    """True if a process of the group has not exited yet (reads /proc: Linux)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, _parent, process_group = fields[:3]
        if int(process_group) == group and state != "Z":
            return True
    return False


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _accepts_connections(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def _greeting(host: str, port: int) -> bytes:
    """The first line the server sends, or b"" if it cannot be had yet."""
    try:
        with socket.create_connection((host, port), timeout=1) as sock, sock.makefile("rb") as stream:
            return stream.readline(1024)
    except OSError:
        return b""


def write_daemon_config(root: Path, account: Account, *, name: str, support: str, alerts_to: str = "",
                        sections: str = "", mailbox: str = "", more: str = "") -> Path:
    """A patroldesk configuration that reads `account`'s INBOX over plain IMAP, with SQLite
    and var/ under `root`, no SMTP listener and no console. `sections` are more TOML
    tables, `mailbox` more keys of the mailbox, `more` more [[mailbox]] tables."""
    alerts = f'"{alerts_to}"' if alerts_to else ""
    path = root / "patroldesk.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{root}/patroldesk.db"
[paths]
var = "{root}/var"
[smtp]
enabled = false
[web]
enabled = false
[support]
addresses = ["{support}"]
alerts_to = [{alerts}]
{sections.strip()}
[[mailbox]]
name = "{name}"
host = "{account.host}"
port = {account.port}
security = "none"
user = "{account.user}"
password = "{account.password}"
{mailbox.strip()}
{more.strip()}
""")
    return path
