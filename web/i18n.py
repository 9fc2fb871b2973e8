"""The console in the agent's language: Flask-Babel, en / nb / ru.

The language of a page is the signed-in user's own setting, else the best
match of the browser's Accept-Language, else `[web] language`. Catalogues
live in web/translations (the .po files; `make` compiles the .mo files).
Strings in Python are marked with gettext (`_`) at the point they are
shown, or with `lazy_gettext` where they are defined at import time; the
domain's messages (daemon.errors.N_) are said in the page's language by
`said`, and the domain's words (statuses, roles, kinds) by the `word` filter.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g, request
from flask_babel import Babel, get_locale, gettext, lazy_gettext
from flask_login import current_user

from daemon import languages
from daemon.languages import N_
from daemon.languages import SHIPPED, normalise

TRANSLATIONS = Path(__file__).parent / "translations"

# Each language named in itself, as its readers look for it in a list.
LANGUAGE_NAMES = {"en": "English", "nb": "Norsk bokmål", "ru": "Русский"}

# Values the domain keeps in English and the console shows: said in the page's language.
WORDS = {word: word for word in (
    N_("new"), N_("open"), N_("pending"), N_("solved"), N_("closed"), N_("active"), N_("all"),
    N_("urgent"), N_("high"), N_("normal"), N_("low"),
    N_("agent"), N_("reviewer"), N_("admin"),
    N_("resolved"), N_("workaround"), N_("not-resolved"), N_("escalated"), N_("duplicate"), N_("no-response"),
    N_("sound"), N_("needs-follow-up"), N_("exemplary"), N_("closing"), N_("interim"),
    N_("starting"), N_("ok"), N_("failing"), N_("stopped"), N_("unknown"), N_("down"), N_("degraded"),
    N_("rendering"), N_("queued"), N_("sending"), N_("sent"), N_("failed"), N_("bounced"), N_("uncertain"),
    N_("processing"), N_("done"), N_("discarded"), N_("quarantined"),
    N_("draft"), N_("not_validated"), N_("validated"), N_("published"), N_("archived"),
    N_("inaccurate"), N_("outdated"), N_("wrong"), N_("incomplete"), N_("reopened"),
    N_("created"), N_("reused"), N_("reply"), N_("subject"),
    N_("alert"), N_("acknowledgement"), N_("notice"),
    # What a ticket's trail records (daemon.tickets.audit).
    N_("article linked"), N_("article unlinked"), N_("assigned"), N_("automatic mail held back"),
    N_("counted against article"), N_("delivery report"), N_("interim report"), N_("knowledge capture failed"),
    N_("mail bounced"), N_("mail possibly sent"), N_("mail sent again"), N_("mail taken as arrived"), N_("note"),
    N_("opened"), N_("policy fired"), N_("priority"), N_("replied"),
    N_("report corrected"), N_("solved notice not sent"), N_("user created"), N_("user password reset"),
    N_("user reactivated"), N_("user deactivated"), N_("user role changed"),
)}


def _user_language() -> str:
    user = getattr(current_user, "user", None) if current_user else None
    code = normalise(getattr(user, "language", "") or "")
    return code if code in SHIPPED else ""


def browser_language(accepted=SHIPPED) -> str:
    """The first language of the browser's Accept-Language that is in `accepted` ('' : none).
    "no" and "nn" readers get bokmål: werkzeug matches tags, not neighbours."""
    for tag, _quality in request.accept_languages:
        code = normalise(tag)
        code = "nb" if code in ("nn", "no") else code
        if code in accepted:
            return code
    return ""


def select_locale() -> str:
    if not request:
        return current_app.config["PATROLDESK"].web.language
    if request.blueprint == "help":  # the help center speaks the language its address names (web.help)
        return g.get("page_language") or browser_language() or current_app.config["PATROLDESK"].web.language
    return _user_language() or browser_language() or current_app.config["PATROLDESK"].web.language


def page_language() -> str:
    """The language of the page being rendered, for <html lang>."""
    return str(get_locale() or "en")


def said(value) -> str:
    """A domain refusal (an exception, or one of its messages) in the page's language."""
    return languages.said(value, gettext)


def word(value) -> str:
    """A value the domain keeps in English (a status, a role, a kind) in the page's language."""
    return gettext(WORDS[value]) if isinstance(value, str) and value in WORDS else value


def console_languages() -> list[tuple[str, str]]:
    """The languages a user may choose for the console: following the browser, or one shipped."""
    return [("", str(lazy_gettext("Follow the browser"))), *((code, LANGUAGE_NAMES[code]) for code in SHIPPED)]


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS),
          default_locale=app.config["PATROLDESK"].web.language)
    app.jinja_env.globals["page_language"] = page_language
    app.jinja_env.globals["console_languages"] = console_languages
    app.add_template_filter(said, "said")
    app.add_template_filter(word, "word")
