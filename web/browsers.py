"""Known browsers: a long-lived signed cookie, set at a successful sign-in, saying this browser
signed in as that name before.

Sign-in counts a known browser's failures against the browser alone, so strangers
who guess at a name (and are slowed down for it) do not lock its real user out. The
cookie grants nothing else: it is no session, and a stolen one buys its thief only
the same few guesses per block as anyone.
"""
from __future__ import annotations

import secrets

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "patroldesk_known"
LIFETIME = 180 * 24 * 3600
REMEMBERED = 5  # names per browser: a shared desk computer, or one person's accounts


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="patroldesk known browser")


def _known() -> dict[str, str]:
    """{folded name: browser id} from this request's cookie; nothing when it is missing, forged or old."""
    value = request.cookies.get(COOKIE)
    if not value:
        return {}
    try:
        pairs = _serializer().loads(value, max_age=LIFETIME)
    except BadSignature:  # also too old: itsdangerous's SignatureExpired is one
        return {}
    return {str(name): str(browser) for name, browser in pairs} if isinstance(pairs, list) else {}


def browser_id(name: str) -> str | None:
    """This browser's id for `name` if it signed in as that name before."""
    return _known().get(name.casefold()[:100])


def remember_browser(response, name: str) -> None:
    """After a successful sign-in: mark this browser as known for `name` (kept with the last few others)."""
    key = name.casefold()[:100]
    known = _known()
    browser = known.pop(key, None) or secrets.token_hex(16)
    pairs = [*list(known.items())[-(REMEMBERED - 1):], (key, browser)]
    response.set_cookie(COOKIE, _serializer().dumps([list(pair) for pair in pairs]), max_age=LIFETIME,
                        path=url_for("auth.sign_in"), httponly=True, samesite="Lax", secure=request.is_secure)
