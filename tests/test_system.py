"""Running as a service: the systemd units `install-service` writes (checked by systemd-analyze),
a graceful stop on SIGTERM within the unit's timeout, and `doctor` against real servers.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import smtplib
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from daemon.cli import system
from daemon.config import load_config
from tests.dovecot import write_daemon_config

BIN = Path(sys.executable).parent
SUPPORT = "support@example.com"


def patroldesk(*args, config: Path | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATROLDESK_")}
    if config is not None:
        env["PATROLDESK_CONFIG"] = str(config)
    return subprocess.run([sys.executable, "-m", "daemon", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def unit(text: str) -> dict[str, list[str]]:
    """A unit file as `Section.Key` -> its values, in order (a key may be given more than once)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key}", []).append(value)
    return found


def one(directives: dict, key: str) -> str:
    [value] = directives[key]
    return value


def verify(*units: Path) -> None:
    """systemd-analyze verify, which must find nothing to say (it warns, exit 0, of unknown keys)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze is missing: `make test` installs Debian's systemd package"
    result = subprocess.run([analyze, "verify", *map(str, units)], capture_output=True, text=True, timeout=60,
                            cwd=units[0].parent)
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), \
        f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def install(tmp_path: Path, *more: str, config: Path | None = None) -> subprocess.CompletedProcess:
    config = config or tmp_path / "etc" / "patroldesk.toml"
    result = patroldesk("install-service", "--dir", str(tmp_path / "units"), "--config", str(config), *more,
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result


# install-service ---------------------------------------------------------------------------------

def test_install_service_writes_two_hardened_units_that_systemd_analyze_verify_accepts(tmp_path):
    said = install(tmp_path, "--user", "helpdesk", "--workers", "3").stdout
    daemon_file, console_file = (tmp_path / "units" / name for name in ("patroldesk.service",
                                                                        "patroldesk-console.service"))
    verify(daemon_file, console_file)
    config_file = tmp_path / "etc" / "patroldesk.toml"
    daemon, console = unit(daemon_file.read_text()), unit(console_file.read_text())
    # /home and /root are hidden, or only read-only where this Python lives there (as pyenv puts it).
    homes = ("/home/", "/root/", "/run/user/")
    protect_home = "read-only" if any(str(p).startswith(homes) for p in
                                      (Path(sys.executable).resolve(), Path(sys.base_prefix))) else "yes"
    for directives, identifier in ((daemon, "patroldesk"), (console, "patroldesk-console")):
        assert one(directives, "Service.User") == one(directives, "Service.Group") == "helpdesk"
        assert one(directives, "Service.Restart") == "on-failure"
        assert one(directives, "Service.StateDirectory") == "patroldesk"
        assert one(directives, "Service.KillSignal") == "SIGTERM"
        assert one(directives, "Service.KillMode") == "mixed"  # the main process stops its children itself
        assert one(directives, "Service.SyslogIdentifier") == identifier
        assert one(directives, "Service.StandardError") == "journal"
        assert f"PATROLDESK_CONFIG={config_file}" in directives["Service.Environment"]
        assert one(directives, "Service.ProtectHome") == protect_home
        for key, value in {"ProtectSystem": "strict", "NoNewPrivileges": "yes",
                           "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
                           "ProtectKernelModules": "yes", "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
                           "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "UMask": "0077",
                           "SystemCallArchitectures": "native", "CapabilityBoundingSet": "",
                           "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX"}.items():
            assert one(directives, f"Service.{key}") == value, key
        assert "Service.ReadWritePaths" not in directives  # the state folder is all it writes
        assert one(directives, "Install.WantedBy") == "multi-user.target"
    assert one(daemon, "Service.ExecStart") == f"{BIN / 'patroldesk'} run"
    assert int(one(daemon, "Service.TimeoutStopSec")) >= 90
    assert one(console, "Service.ExecStart") == (f"{BIN / 'gunicorn'} --workers 3 --bind 127.0.0.1:5000 "
                                                 f"--graceful-timeout 30 web.wsgi:app")
    assert int(one(console, "Service.TimeoutStopSec")) > 30
    assert one(console, "Service.Type") == "notify"
    assert "patroldesk.service" in one(console, "Unit.After").split()
    assert "network-online.target" in one(daemon, "Unit.After").split()
    written = load_config(config_file, {})
    assert str(written.var_dir) == "/var/lib/patroldesk" and not written.web.enabled
    assert written.database.url == "sqlite:////var/lib/patroldesk/patroldesk.db"
    assert config_file.stat().st_mode & 0o777 == 0o640
    assert "systemctl daemon-reload" in said and "systemctl enable --now patroldesk.service " \
                                                "patroldesk-console.service" in said
    assert f"runuser -u helpdesk -- {BIN / 'patroldesk'} --config {config_file} init" in said


def test_an_existing_configuration_is_kept_and_shapes_the_units(tmp_path):
    config_file = tmp_path / "my config.toml"
    config_file.write_text('[paths]\nvar = "data"\n[database]\nurl = "sqlite:///db/desk.db"\n'
                           '[smtp]\nport = 25\n[web]\nenabled = false\nhost = "::1"\nport = 8080\n'
                           '[[mailbox]]\nhost = "imap.example.com"\nuser = "a"\npassword = "p"\n'
                           '[[mailbox]]\nhost = "imap.example.com"\nuser = "b"\npassword = "p"\n')
    before = config_file.read_text()
    said = install(tmp_path, config=config_file).stdout
    assert config_file.read_text() == before and "kept" in said
    daemon_file, console_file = (tmp_path / "units" / name for name in ("patroldesk.service",
                                                                        "patroldesk-console.service"))
    verify(daemon_file, console_file)
    daemon, console = unit(daemon_file.read_text()), unit(console_file.read_text())
    assert f'"PATROLDESK_CONFIG={config_file}"' in daemon["Service.Environment"]  # quoted: a space
    assert one(daemon, "Service.ReadWritePaths").split() == [str(tmp_path / "data"), str(tmp_path / "db")]
    assert one(daemon, "Service.CapabilityBoundingSet") == "CAP_NET_BIND_SERVICE"  # SMTP on port 25
    assert one(daemon, "Service.AmbientCapabilities") == "CAP_NET_BIND_SERVICE"
    assert one(console, "Service.CapabilityBoundingSet") == ""
    assert int(one(daemon, "Service.TimeoutStopSec")) == max(90, system.STOP_SECONDS + 2 * 10 + system.STOP_MARGIN)
    assert "--bind [::1]:8080" in one(console, "Service.ExecStart")


def test_install_service_print_writes_nothing(tmp_path):
    said = install(tmp_path, "--print").stdout
    assert not (tmp_path / "units").exists() and not (tmp_path / "etc").exists()
    assert f"# {tmp_path / 'units' / 'patroldesk.service'}" in said and "[paths]" in said


def test_a_daemon_that_serves_the_console_itself_gets_no_console_unit(tmp_path):
    config_file = tmp_path / "patroldesk.toml"
    config_file.write_text("[web]\nenabled = true\n")
    said = install(tmp_path, config=config_file).stdout
    assert sorted(p.name for p in (tmp_path / "units").iterdir()) == ["patroldesk.service"]
    assert "no patroldesk-console.service: the daemon serves the console itself" in said
    assert "enable --now patroldesk.service\n" in said


def test_install_service_refuses_a_broken_configuration_naming_the_key(tmp_path):
    config_file = tmp_path / "patroldesk.toml"
    config_file.write_text("[web]\nport = 99999\n")
    result = patroldesk("install-service", "--dir", str(tmp_path / "units"), "--config", str(config_file))
    assert result.returncode == 2 and "web.port" in result.stderr and str(config_file) in result.stderr
    assert not (tmp_path / "units").exists()


# A graceful stop ---------------------------------------------------------------------------------

# The unit's MemoryDenyWriteExecute=yes, imposed here by the kernel's own switch (PR_SET_MDWE, Linux 6.3),
# which the daemon and the processes it starts inherit: so the test also proves the daemon lives with it.
UNDER_MDWE = """
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(f"PR_SET_MDWE refused: errno {ctypes.get_errno()}")
os.execv(sys.argv[1], sys.argv[1:])
"""


def kernel_refuses_write_execute() -> bool:
    probe = "import mmap; mmap.mmap(-1, 4096, prot=7)"
    return subprocess.run([sys.executable, "-c", UNDER_MDWE, sys.executable, "-c", probe],
                          capture_output=True, timeout=30).returncode != 0


def mail(number: int) -> bytes:
    return (f"From: customer{number}@example.org\r\nTo: {SUPPORT}\r\nSubject: Printer {number} is on fire\r\n"
            f"Message-ID: <stop-{number}@example.org>\r\n\r\nHelp with printer {number}, please.\r\n").encode()


def feed(port: int, accepted: list[int], stop: threading.Event) -> None:
    """Mail after mail until the daemon stops taking it; `accepted` lists those answered 250."""
    number = 0
    while not stop.is_set():
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                while not stop.is_set():
                    number += 1
                    smtp.sendmail(f"customer{number}@example.org", [SUPPORT], mail(number))
                    accepted.append(number)
        except (smtplib.SMTPException, OSError):
            return


def test_sigterm_stops_a_busy_daemon_well_within_the_units_timeout_and_loses_no_mail(tmp_path):
    (tmp_path / "patroldesk.toml").write_text(
        '[database]\nurl = "sqlite:///var/desk.db"\n[smtp]\nport = 0\n[web]\nport = 0\n'
        f'[support]\naddresses = ["{SUPPORT}"]\n[autoreply]\nper_sender_per_hour = 100\n')
    config = tmp_path / "patroldesk.toml"
    assert patroldesk("init", config=config).returncode == 0
    install(tmp_path, "--no-console", config=config)
    timeout = int(one(unit((tmp_path / "units" / "patroldesk.service").read_text()), "Service.TimeoutStopSec"))
    command = [str(BIN / "patroldesk"), "run"]
    if kernel_refuses_write_execute():
        command = [sys.executable, "-c", UNDER_MDWE, *command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATROLDESK_")}
    env["PATROLDESK_CONFIG"] = str(config)
    daemon = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    banner = ""
    while "tickets list" not in banner:
        line = daemon.stdout.readline()
        assert line, f"the daemon exited: {daemon.communicate(timeout=30)[1]}"
        banner += line
    port = int(re.search(r"SMTP 127\.0\.0\.1:(\d+)", banner).group(1))
    accepted: list[int] = []
    stop_feeding = threading.Event()
    feeder = threading.Thread(target=feed, args=(port, accepted, stop_feeding), daemon=True)
    feeder.start()
    deadline = time.monotonic() + 30
    while len(accepted) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert accepted, "no mail was accepted"
    daemon.send_signal(signal.SIGTERM)  # as systemd does with KillMode=mixed: the main process alone
    asked = time.monotonic()
    try:
        code = daemon.wait(timeout=timeout)
    finally:
        daemon.kill()
        stop_feeding.set()
        feeder.join(30)
    took = time.monotonic() - asked
    log = daemon.stderr.read()
    assert code == 0, log
    assert took < timeout / 3, f"{took:.1f} s to stop; the unit allows {timeout} s"
    # What was accepted is all there: processed now, or left in the spool for the next start.
    assert patroldesk("run", "--drain", config=config).returncode == 0
    with contextlib.closing(sqlite3.connect(tmp_path / "var" / "desk.db")) as conn:
        tickets = conn.execute('SELECT COUNT(*) FROM "ticket"').fetchone()[0]
        unsent = conn.execute("""SELECT COUNT(*) FROM "outbox" WHERE "state" != 'sent'""").fetchone()[0]
        spool = dict(conn.execute('SELECT "state", COUNT(*) FROM "inbound" GROUP BY "state"').fetchall())
    assert spool == {"done": tickets}, log
    # One more ticket than counted when the stop came between the daemon's 250 and the client reading it.
    assert len(accepted) <= tickets <= len(accepted) + 1
    assert unsent == 0
    assert len(list((tmp_path / "var" / "sent").glob("*.eml"))) == tickets  # each acknowledged once


# doctor ------------------------------------------------------------------------------------------

def lines(result: subprocess.CompletedProcess) -> dict[str, tuple[str, str]]:
    """doctor's output as {check: (status, detail)}."""
    found = {}
    for line in result.stdout.splitlines():
        status, name_and_detail = line[:5].strip(), line[6:]
        found[name_and_detail[:16].strip()] = (status, name_and_detail[17:])
    return found


def fresh_installation(tmp_path: Path, more: str = "") -> Path:
    config = tmp_path / "patroldesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///var/desk.db"\n[support]\naddresses = ["{SUPPORT}"]\n{more}')
    assert patroldesk("init", config=config).returncode == 0
    return config


def test_doctor_finds_a_fresh_installation_all_ok(tmp_path):
    config = fresh_installation(tmp_path)
    result = patroldesk("doctor", config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    found = lines(result)
    assert list(found) == ["config", "database", "migrations", "relay", "var", "disk"]
    assert {status for status, _ in found.values()} <= {"ok", "warn"}
    assert found["config"] == ("ok", str(config))
    assert found["relay"][1].startswith("none configured: mail is written to")
    assert found["database"][1] == f"SQLite {tmp_path / 'var' / 'desk.db'}"
    as_json = json.loads(patroldesk("doctor", "--json", config=config).stdout)
    assert as_json["ok"] is True and [c["check"] for c in as_json["checks"]] == list(found)


def test_doctor_fails_a_mailbox_whose_password_is_wrong(tmp_path, imap_account):
    config = write_daemon_config(tmp_path, imap_account, name="good", support=SUPPORT,
                                 more=f'[[mailbox]]\nname = "bad"\nhost = "{imap_account.host}"\n'
                                      f'port = {imap_account.port}\nsecurity = "none"\n'
                                      f'user = "{imap_account.user}"\npassword = "wrong"\n')
    assert patroldesk("init", config=config).returncode == 0
    imap_account.append("INBOX", [mail(1)])
    result = patroldesk("doctor", config=config)
    assert result.returncode == 1, result.stdout
    found = lines(result)
    assert found["mailbox good"] == ("ok", f"{imap_account.user}@{imap_account.host}:{imap_account.port} INBOX: "
                                           f"1 message(s) waiting")
    status, detail = found["mailbox bad"]
    assert status == "FAIL" and detail.startswith(f"IMAP login as '{imap_account.user}' refused:"), detail
    assert "AUTHENTICATIONFAILED" in detail and "b'" not in detail
    assert found["var"][0] == found["relay"][0] == "ok"


def test_doctor_fails_a_relay_that_is_down_and_passes_one_that_answers(tmp_path, relay):
    config = fresh_installation(tmp_path, f'[relay]\nhost = "127.0.0.1"\nport = {relay.port}\n')
    found = lines(patroldesk("doctor", config=config))
    assert found["relay"] == ("ok", f"127.0.0.1:{relay.port} (none): EHLO answered")
    relay.stop()
    result = patroldesk("doctor", config=config)
    assert result.returncode == 1
    assert lines(result)["relay"] == ("FAIL", f"cannot connect to 127.0.0.1:{relay.port}: connection refused")
    assert relay.received == []  # a check sends no mail


def test_doctor_fails_a_var_folder_others_may_read(tmp_path):
    config = fresh_installation(tmp_path)
    (tmp_path / "var").chmod(0o755)
    result = patroldesk("doctor", config=config)
    assert result.returncode == 1
    assert lines(result)["var"] == ("FAIL", f"{tmp_path / 'var'} is open to others (mode 0755): "
                                            f"chmod 700 {tmp_path / 'var'}")
    (tmp_path / "var").chmod(0o700)
    (tmp_path / "var" / "desk.db").chmod(0o644)
    found = lines(patroldesk("doctor", config=config))
    assert found["var"][0] == "FAIL" and str(tmp_path / "var" / "desk.db") in found["var"][1]


def test_doctor_names_the_key_and_file_of_a_broken_configuration(tmp_path):
    config = tmp_path / "patroldesk.toml"
    config.write_text("[relay]\nport = 0\n")
    result = patroldesk("doctor", "--json", config=config)
    assert result.returncode == 1
    [check] = json.loads(result.stdout)["checks"]
    assert check["check"] == "config" and check["status"] == "FAIL"
    assert check["detail"].startswith(f"{config}: relay.port: must be at least 1")


def test_doctor_fails_an_installation_never_set_up(tmp_path):
    config = tmp_path / "patroldesk.toml"
    config.write_text('[database]\nurl = "sqlite:///var/desk.db"\n')
    result = patroldesk("doctor", config=config)
    found = lines(result)
    assert result.returncode == 1 and "migrations" not in found
    assert found["database"][0] == found["var"][0] == "FAIL"
    assert "patroldesk init" in found["database"][1] and "patroldesk init" in found["var"][1]


def test_the_disk_check_warns_then_fails_as_space_runs_out(tmp_path, monkeypatch):
    config = load_config(None, {"PATROLDESK_CONFIG": ""})
    usage = shutil.disk_usage(tmp_path)

    def free(amount):
        monkeypatch.setattr(system.shutil, "disk_usage", lambda _: usage._replace(free=amount, total=1 << 40))
        return system._disk_check(config).status

    assert [free(500 << 30), free(20 << 30), free(500 << 20), free(50 << 20)] == ["ok", "warn", "warn", "FAIL"]
