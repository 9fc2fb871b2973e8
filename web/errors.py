"""Error pages in the console's own layout: every HTTP error, and a logged 500 for anything unexpected.

Werkzeug's bare pages would drop the navigation and the security headers' context and,
for an unexpected exception, say nothing in the log about what happened.
"""
from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import gettext
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from daemon.languages import N_

log = logging.getLogger("patroldesk.web")

# Said in the console's words (and language); a view that gives its own description keeps it.
MESSAGES = {
    400: N_("The request could not be understood. Go back, reload the page and try again."),
    403: N_("Your account may not open this page."),
    404: N_("There is no such page here. It may have been moved, or the link is mistyped."),
    405: N_("This page cannot be used that way."),
    413: N_("What was sent is larger than the console accepts."),
    429: N_("Too many tries in a short time. Wait a little and try again."),
    500: N_("Something went wrong on our side. It has been logged; try again, and tell an admin if it persists."),
}
# Flask-WTF's own descriptions of a refused form, said in the console's language too.
FORM_REFUSALS = {text: text for text in (
    N_("The CSRF token is missing."), N_("The CSRF session token is missing."), N_("The CSRF token has expired."),
    N_("The CSRF token is invalid."), N_("The CSRF tokens do not match."),
    N_("The referrer header is missing."), N_("The referrer does not match the host."),
)}
# Werkzeug's names of those errors, as the page's heading.
TITLES = {
    400: N_("Bad Request"), 403: N_("Forbidden"), 404: N_("Not Found"), 405: N_("Method Not Allowed"),
    413: N_("Request Entity Too Large"), 429: N_("Too Many Requests"), 500: N_("Internal Server Error"),
}


def _title(code: int, name: str) -> str:
    try:
        return gettext(TITLES[code]) if code in TITLES else name
    except Exception:  # no request to know the language by (the layout's own failure): English
        return name


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _http_error(error: HTTPException):
    if error.response is not None:
        return error.response
    own = error.description != type(error).description
    message = FORM_REFUSALS.get(error.description, error.description) if own \
        else MESSAGES.get(error.code, error.description)
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return _page(_title(error.code, error.name), message, error.code, headers)


def _unexpected(error: Exception):
    log.error("unexpected error in the console", exc_info=error)
    return _page(_title(500, InternalServerError.name), MESSAGES[500], 500)


def _page(title: str, message: str, code: int, headers=()):
    try:
        return render_template("error.html", title=title, message=message), code, list(headers)
    except Exception:
        # The layout itself failed (the database is down, say): a plain page, still not Werkzeug's.
        log.exception("the error page could not be rendered")
        body = f"<!doctype html><title>{escape(title)} · patroldesk</title><h1>{escape(title)}</h1>" \
               f"<p>{escape(message)}</p>"
        return body, code, list(headers)
