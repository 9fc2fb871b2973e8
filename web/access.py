"""Who may see what: Flask-Login sessions and the role every route names.

Roles are ranked: an agent works tickets and drafts knowledge, a reviewer
also reviews reports and checks articles, an admin also keeps users,
templates, policies and the mail spool. Each view declares the lowest role
it admits with `@requires(role)`; a route without it is refused to everyone
(`init_app` checks at start-up that none is missing).

A session names the user and their `session_version`; signing out or changing
the password bumps it, so every cookie issued before stops working at once.
"""
from __future__ import annotations

import functools

from flask import Flask, abort, g, request
from flask_babel import gettext
from flask_login import LoginManager, UserMixin, current_user

from daemon.languages import N_
from daemon.store.models import User
from web.params import number

RANKS = {"agent": 1, "reviewer": 2, "admin": 3}
PUBLIC = "public"  # sign-in, health and metrics: no session needed
login_manager = LoginManager()


class SignedIn(UserMixin):
    """The signed-in person: a User row wrapped for Flask-Login."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.session_version}"

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)

    @property
    def role(self) -> str:
        return self.user.role

    def can(self, role: str) -> bool:
        return RANKS.get(self.user.role, 0) >= RANKS[role]


@login_manager.user_loader
def _load(session_id: str):
    user_id, _, version = session_id.partition(":")
    if number(user_id) is None or number("1" + version) is None:  # a version may be 0
        return None
    user = User.get_or_none((User.id == int(user_id)) & (User.session_version == int(version)) & User.active)
    return SignedIn(user) if user else None


def requires(role: str):
    """The lowest role that may use this view (or PUBLIC)."""
    if role != PUBLIC and role not in RANKS:
        raise ValueError(f"unknown role {role!r}")

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if role != PUBLIC:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if not current_user.can(role):
                    abort(403)
                g.user = current_user.user
            return view(*args, **kwargs)
        guarded.required_role = role
        return guarded
    return decorate


def me() -> User:
    """The signed-in user's row (for the domain functions: who did it)."""
    return g.user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = N_("Sign in to see that page.")
    login_manager.localize_callback = gettext  # said in the language of the sign-in page it leads to
    login_manager.session_protection = None  # sessions are revoked by version, not by guessing at IPs

    @app.before_request
    def _every_view_names_its_role():
        view = app.view_functions.get(request.endpoint or "")
        if view is None or request.endpoint == "static":
            return None
        if not hasattr(view, "required_role"):
            abort(403)  # a route someone forgot to guard is closed, not open
        return None

    @app.context_processor
    def _roles():
        return {"can": lambda role: current_user.is_authenticated and current_user.can(role)}
