"""Headless Chromium from the system's packages, driven by Playwright, against a console on loopback.

Playwright never downloads a browser here: it launches the Chromium that
`make test` installs from Debian's packages. The flags keep it from reaching
for the network (this machine has none) and let it run as root.
"""
from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str | None:
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@contextmanager
def served(app):
    """The WSGI app on 127.0.0.1 and a free port, on a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


class Watch:
    """What a page did that it must not: dialogs opened, scripts refused by the policy, page errors."""

    def __init__(self, page):
        self.dialogs: list[str] = []
        self.refused_scripts: list[str] = []
        self.refused_styles: list[str] = []  # an inline style on a console page: markup escaped its template
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" not in text:
            return
        if "Refused to execute" in text or "Refused to run" in text:
            self.refused_scripts.append(text)
        elif "Refused to apply inline style" in text:
            self.refused_styles.append(text)


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/sign-in" not in url)
