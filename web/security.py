"""What every response and form is protected by: the session cookie, CSRF, and headers.

The session is Flask's signed cookie, keyed from the installation's secret
(the same one that signs Message-IDs), HttpOnly and SameSite=Lax always, Secure
whenever the request came over TLS. Pages may run only the console's own
script file: the Content-Security-Policy forbids inline script and every
other origin, and no page may be framed.
"""
from __future__ import annotations

import hashlib
import hmac

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from daemon.config import Config
from daemon.outbound.compose import message_id_key
from web.errors import FORM_REFUSALS
from web.i18n import said

csrf = CSRFProtect()

POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-src 'self'",
    "frame-ancestors 'none'",
))


class _SessionInterface(SecureCookieSessionInterface):
    """Secure cookies whenever the request came over TLS (directly, or through a trusted proxy)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def init_app(app: Flask, config: Config) -> None:
    app.secret_key = hmac.new(message_id_key(config), b"console session", hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME="patroldesk_session", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=12 * 3600, WTF_CSRF_TIME_LIMIT=12 * 3600, MAX_CONTENT_LENGTH=10 * 2**20,
    )
    app.session_interface = _SessionInterface()
    if config.web.behind_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    csrf.init_app(app)
    app.after_request(_headers)
    app.register_error_handler(CSRFError, _csrf_refused)


def _headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", POLICY)
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("X-Frame-Options", "DENY")
    headers["Referrer-Policy"] = "same-origin"
    headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def _csrf_refused(error: CSRFError):
    return render_template("error.html", title=_("Form expired"), message=_(
        "%(problem)s Go back, reload the page and send it again.",
        problem=said(FORM_REFUSALS.get(error.description, error.description)))), 400
