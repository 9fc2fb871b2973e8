"""The console in the agent's language: Flask-Babel, en / nb / ru.

The language of a page is the signed-in user's own setting, else the best
match of the browser's Accept-Language, else `[web] language`. Catalogues
live in web/translations (the .po files; `make` compiles the .mo files).
Strings in Python are marked with gettext (`_`) at the point they are
shown, or with `lazy_gettext` where they are defined at import time.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request
from flask_babel import Babel, get_locale
from flask_login import current_user

from daemon.languages import SHIPPED, normalise

TRANSLATIONS = Path(__file__).parent / "translations"


def _user_language() -> str:
    user = getattr(current_user, "user", None) if current_user else None
    code = normalise(getattr(user, "language", "") or "")
    return code if code in SHIPPED else ""


def _browser_language() -> str:
    # "no" and "nn" readers get the bokmål catalogue: werkzeug matches tags, not neighbours.
    for tag, _quality in request.accept_languages:
        code = normalise(tag)
        code = "nb" if code == "nn" else code
        if code in SHIPPED:
            return code
    return ""


def select_locale() -> str:
    if not request:
        return current_app.config["PATROLDESK"].web.language
    return _user_language() or _browser_language() or current_app.config["PATROLDESK"].web.language


def page_language() -> str:
    """The language of the page being rendered, for <html lang>."""
    return str(get_locale() or "en")


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS),
          default_locale=app.config["PATROLDESK"].web.language)
    app.jinja_env.globals["page_language"] = page_language
