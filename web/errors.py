"""Error pages in the console's own layout: every HTTP error, and a logged 500 for anything unexpected.

Werkzeug's bare pages would drop the navigation and the security headers' context and,
for an unexpected exception, say nothing in the log about what happened.
"""
from __future__ import annotations

import logging

from flask import Flask, render_template
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger("patroldesk.web")

# Said in the console's words; a view that gives its own description keeps it.
MESSAGES = {
    400: "The request could not be understood. Go back, reload the page and try again.",
    403: "Your account may not open this page.",
    404: "There is no such page here. It may have been moved, or the link is mistyped.",
    405: "This page cannot be used that way.",
    413: "What was sent is larger than the console accepts.",
    429: "Too many tries in a short time. Wait a little and try again.",
    500: "Something went wrong on our side. It has been logged; try again, and tell an admin if it persists.",
}


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _http_error(error: HTTPException):
    if error.response is not None:
        return error.response
    own = error.description != type(error).description
    message = error.description if own else MESSAGES.get(error.code, error.description)
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return _page(error.name, message, error.code, headers)


def _unexpected(error: Exception):
    log.error("unexpected error in the console", exc_info=error)
    return _page(InternalServerError.name, MESSAGES[500], 500)


def _page(title: str, message: str, code: int, headers=()):
    try:
        return render_template("error.html", title=title, message=message), code, list(headers)
    except Exception:
        # The layout itself failed (the database is down, say): a plain page, still not Werkzeug's.
        log.exception("the error page could not be rendered")
        body = f"<!doctype html><title>{escape(title)} · patroldesk</title><h1>{escape(title)}</h1>" \
               f"<p>{escape(message)}</p>"
        return body, code, list(headers)
