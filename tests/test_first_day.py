"""The first day, as a newcomer lives it: a checkout-like folder, a config with relative paths,
`init` and `run` as real processes started in that folder, a mail with an attachment over SMTP,
the console in headless Chromium (sign in, the ticket, the download, a refused close that keeps
the reply being typed), and the CLI run from another folder that sees the same ticket.
"""
from __future__ import annotations

import json
import os
import signal
import smtplib
import stat
import subprocess
import sys
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from tests.browser import Watch, sign_in
from tests.conftest import wait_for
from tests.relay import free_port

SUPPORT = "support@example.org"
PASSWORD = "Nordlys over Tromsø i januar"
ATTACHMENT = bytes(range(256)) * 40 + "skjermbilde på norsk".encode()


def write_checkout(folder: Path, smtp_port: int, web_port: int) -> None:
    """A config as a newcomer writes it: every path relative, the database under ./var."""
    folder.mkdir()
    (folder / "patroldesk.toml").write_text(
        '[database]\nurl = "sqlite:///var/patroldesk.db"\n'
        '[paths]\nvar = "var"\n'
        f'[support]\naddresses = ["{SUPPORT}"]\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\n'
        f'[web]\nhost = "127.0.0.1"\nport = {web_port}\n')


def command(folder: Path, *args, cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATROLDESK_")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "daemon", "--config", str(folder / "patroldesk.toml"), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def start_daemon(folder: Path, web_port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATROLDESK_")}
    env["PATROLDESK_CONFIG"] = "patroldesk.toml"  # relative, as a newcomer in the folder would set it
    process = subprocess.Popen([sys.executable, "-m", "daemon", "run"], cwd=folder, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=2)
            return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stdout.read().decode(errors="replace"))
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the console never answered: {process.stdout.read().decode(errors='replace')}")


def stop_daemon(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    return process.stdout.read().decode(errors="replace")


def send_mail_with_attachment(smtp_port: int) -> None:
    mail = EmailMessage()
    mail["From"] = "Ingrid Dahl <ingrid@example.no>"
    mail["To"] = SUPPORT
    mail["Subject"] = "Skjermen blir svart etter oppdateringen"
    mail["Message-ID"] = "<first-day@example.no>"
    mail.set_content("Hei! Skjermen blir svart hver gang jeg logger inn. Skjermbilde vedlagt.")
    mail.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream", filename="skjerm.bin")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
        smtp.send_message(mail)


def tickets_seen_from(folder: Path, cwd: Path) -> list[dict]:
    result = command(folder, "tickets", "list", "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_a_newcomer_first_day_from_a_fresh_folder(browser, tmp_path):
    folder, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    elsewhere.mkdir()
    smtp_port, web_port = free_port(), free_port()
    write_checkout(folder, smtp_port, web_port)
    made = command(folder, "init", cwd=folder, env_extra={"PATROLDESK_ADMIN_PASSWORD": PASSWORD})
    assert made.returncode == 0, made.stderr
    daemon = start_daemon(folder, web_port)
    try:
        send_mail_with_attachment(smtp_port)
        found = wait_for(lambda: tickets_seen_from(folder, cwd=elsewhere), timeout=30)
        number = found[0]["ticket"]
        assert not (elsewhere / "var").exists(), "a command run elsewhere made a second installation"

        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        watch = Watch(page)
        base = f"http://127.0.0.1:{web_port}"
        sign_in(page, base, "admin", PASSWORD)
        page.goto(f"{base}/tickets/{number}")
        assert "Skjermen blir svart" in page.content()

        with page.expect_download() as download:
            page.click("a:has-text('skjerm.bin')")
        assert Path(download.value.path()).read_bytes() == ATTACHMENT

        reply = "Hei Ingrid, prøv å starte maskinen i sikker modus, så ser vi på det sammen."
        page.fill("form[action*='/reply'] textarea[name=body]", reply)
        page.fill("form[action*='/notes'] textarea[name=text]", "Trolig skjermdriveren fra siste oppdatering.")
        page.click("form[action*='/close'] button[type=submit]")
        page.wait_for_selector("#situation-error")  # refused: no SBO note
        assert page.input_value("form[action*='/reply'] textarea[name=body]") == reply
        assert "skjermdriveren" in page.input_value("form[action*='/notes'] textarea[name=text]")
        assert watch.dialogs == [] and watch.errors == []
        context.close()

        assert tickets_seen_from(folder, cwd=elsewhere)[0]["ticket"] == number
    finally:
        output = stop_daemon(daemon)
    assert "Traceback" not in output, output
    assert not list(elsewhere.iterdir()), "a command run elsewhere left files behind"
    var = folder / "var"
    assert (var / "patroldesk.db").exists() and any((var / "attachments").rglob("*"))
    modes = {str(path.relative_to(folder)): oct(stat.S_IMODE(path.stat().st_mode)) for path in [var, *var.rglob("*")]}
    assert {name: mode for name, mode in modes.items() if mode not in ("0o600", "0o700")} == {}
