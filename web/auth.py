"""Signing in and out, and changing one's own password.

After `[web] failed_sign_ins` failures in a row for one account name, known
or not, the name is locked for `lockout_minutes`: the page says so without
saying whether the account exists, and a correct password does not open
it early. Each sign-in starts a new session (nothing of the anonymous one is
kept); signing out and changing the password revoke every session the user had.
"""
from __future__ import annotations

import datetime as dt
import secrets

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from daemon.errors import PatroldeskError
from daemon.people import accounts, lockout, users
from daemon.store.models import User, utcnow
from web.access import PUBLIC, SignedIn, me, requires

blueprint = Blueprint("auth", __name__)
_UNKNOWN_HASH_USER = None  # a User-shaped stand-in so an unknown name costs one hash check too


class SignInForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=100)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)],
                             render_kw={"autocomplete": "current-password"})


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("New password", validators=[DataRequired(), Length(min=users.MIN_PASSWORD_LENGTH,
                                                                           max=1000)],
                        render_kw={"autocomplete": "new-password"})
    again = PasswordField("New password again", validators=[DataRequired(), EqualTo("new", "the two differ")],
                          render_kw={"autocomplete": "new-password"})


@blueprint.route("/sign-in", methods=["GET", "POST"])
@requires(PUBLIC)
def sign_in():
    form = SignInForm()
    if not form.validate_on_submit():
        return render_template("auth/sign_in.html", form=form), 400 if request.method == "POST" else 200
    name = form.username.data.strip()
    user, locked = _check(name, form.password.data)
    if locked:
        form.password.errors = [f"Too many failed sign-ins for this name: try again after {locked:%H:%M:%S} UTC."]
        return render_template("auth/sign_in.html", form=form), 429
    if user is None:
        form.password.errors = ["Wrong username or password."]
        return render_template("auth/sign_in.html", form=form), 401
    session.clear()  # a new session: nothing of the anonymous one is carried over
    login_user(SignedIn(user))
    session["nonce"] = secrets.token_hex(8)
    return redirect(_next_page())


def _check(name: str, password: str) -> tuple[User | None, dt.datetime | None]:
    """The user when the password is right and the name not locked; else (None, lock end or None)."""
    key = name.casefold()[:100]
    config = current_app.config["PATROLDESK"].web
    limit, minutes, now = config.failed_sign_ins, config.lockout_minutes, utcnow()
    locked = lockout.reserve(key, now, limit, minutes)
    if locked is not None:
        return None, locked
    user = User.get_or_none((User.username == name) & User.active)
    if user is not None and users.check_password(user, password):
        lockout.succeeded(key)
        return user, None
    if user is None:
        users.check_password(_stand_in(), password)  # the same time spent, known name or not
    lockout.failed(key, now, limit, minutes)
    return None, None


def _stand_in() -> User:
    global _UNKNOWN_HASH_USER
    if _UNKNOWN_HASH_USER is None:
        _UNKNOWN_HASH_USER = User(password_hash=users.hash_password(secrets.token_hex(16)))
    return _UNKNOWN_HASH_USER


def _next_page() -> str:
    """Back to the page that asked for sign-in, but only a path within the console: nothing a browser
    could read as another host (//host, /\\host, a tab or newline it drops, a scheme)."""
    target = request.args.get("next", "")
    plain = target.isascii() and target.isprintable() and " " not in target and "\\" not in target
    if plain and target.startswith("/") and not target.startswith("//"):
        return target  # Flask-Login percent-encodes the next= it makes, so ASCII loses nothing
    return url_for("tickets.queue")


@blueprint.route("/sign-out", methods=["POST"])
@requires("agent")
def sign_out():
    _revoke_sessions(me())
    logout_user()
    session.clear()
    flash("Signed out.")
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/password", methods=["GET", "POST"])
@requires("agent")
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not users.check_password(me(), form.current.data):
            form.current.errors = ["That is not your current password."]
        else:
            try:
                users.set_password(me(), form.new.data)
            except PatroldeskError as exc:
                form.new.errors = [str(exc)]
            else:
                user = _revoke_sessions(me())
                session.clear()
                login_user(SignedIn(user))  # this browser stays signed in, with a new session
                flash("Password changed; your other sessions are signed out.")
                return redirect(url_for("tickets.queue"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status


def _revoke_sessions(user: User) -> User:
    return accounts.revoke_sessions(user)
