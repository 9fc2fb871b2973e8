"""Signing in and out, and changing one's own password.

Failed sign-ins are counted per account name and per client address for a browser
that never signed in as that name, and per browser for one that did (web.browsers):
after `[web] failed_sign_ins` failures the key is blocked for `lockout_minutes`, each
block twice the one before (daemon.people.lockout). So a stranger who guesses at
the admin's name is slowed down more and more, while the admin's own browser still
signs in. The page says so without saying whether the account exists, and a correct
password does not open a block early. The current password asked for by the password
page is counted alike: at the limit this session is signed out. Behind a proxy, the
client's address is the proxy's unless `[web] behind_proxy` is set (werkzeug's ProxyFix).
Each sign-in starts a new session (nothing of the anonymous one is kept); signing out
and changing the password revoke every session the user had. The password page
also keeps the user's choice of language for the console (web.i18n).
"""
from __future__ import annotations

import datetime as dt
import secrets

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext, refresh
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from daemon.errors import PatroldeskError
from daemon.languages import SHIPPED
from daemon.people import accounts, lockout, users
from daemon.store.models import User, utcnow
from web.access import PUBLIC, SignedIn, me, requires
from web.browsers import browser_id, remember_browser
from web.i18n import said

ADDRESS_LIMIT_FACTOR = 4  # several people may share one address (an office behind NAT)
blueprint = Blueprint("auth", __name__)
_UNKNOWN_HASH_USER = None  # a User-shaped stand-in so an unknown name costs one hash check too


class SignInForm(FlaskForm):
    username = StringField(lazy_gettext("Username"),
                           validators=[DataRequired(lazy_gettext("Type your username.")), Length(max=100)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(lazy_gettext("Password"),
                             validators=[DataRequired(lazy_gettext("Type your password.")), Length(max=1000)],
                             render_kw={"autocomplete": "current-password"})


class PasswordForm(FlaskForm):
    current = PasswordField(lazy_gettext("Current password"),
                            validators=[DataRequired(lazy_gettext("Type your current password."))],
                            render_kw={"autocomplete": "current-password"})
    # The length, like the rest of the rule, is daemon.people's to judge: one message, the same as the CLI's.
    new = PasswordField(lazy_gettext("New password"),
                        validators=[DataRequired(lazy_gettext("Type a new password.")), Length(max=1000)],
                        render_kw={"autocomplete": "new-password", "minlength": users.MIN_PASSWORD_LENGTH})
    again = PasswordField(lazy_gettext("New password again"),
                          validators=[DataRequired(lazy_gettext("Type the new password again.")),
                                      EqualTo("new", lazy_gettext("the two differ"))],
                          render_kw={"autocomplete": "new-password"})


@blueprint.route("/sign-in", methods=["GET", "POST"])
@requires(PUBLIC)
def sign_in():
    form = SignInForm()
    if not form.validate_on_submit():
        return render_template("auth/sign_in.html", form=form), 400 if request.method == "POST" else 200
    name = form.username.data.strip()
    user, blocked = _check(name, form.password.data)
    if blocked:
        form.password.errors = [_("Too many failed sign-ins for this name from here: try again after %(time)s UTC.",
                                  time=f"{blocked:%H:%M:%S}")]
        return render_template("auth/sign_in.html", form=form), 429
    if user is None:
        form.password.errors = [_("Wrong username or password.")]
        return render_template("auth/sign_in.html", form=form), 401
    session.clear()  # a new session: nothing of the anonymous one is carried over
    login_user(SignedIn(user))
    session["nonce"] = secrets.token_hex(8)
    response = redirect(_next_page())
    remember_browser(response, name)
    return response


def _check(name: str, password: str) -> tuple[User | None, dt.datetime | None]:
    """The user when the password is right and no key of this attempt is blocked; else (None, block end or None)."""
    keys = _sign_in_keys(name)
    config = current_app.config["PATROLDESK"].web
    minutes, now = config.lockout_minutes, utcnow()
    blocked = lockout.reserve(keys, now, minutes)
    if blocked is not None:
        return None, blocked
    user = User.get_or_none((User.username == name) & User.active)
    if user is not None and users.check_password(user, password):
        # Not the address's failures: signing in to one's own account must not buy more guesses at others.
        lockout.succeeded([key for key, _ in keys if not key.startswith("address:")])
        return user, None
    if user is None:
        users.check_password(_stand_in(), password)  # the same time spent, known name or not
    lockout.failed(keys, now, minutes)
    return None, None


def _sign_in_keys(name: str) -> lockout.Keys:
    """A browser that signed in as `name` before answers for itself; any other, with the name and its address."""
    limit = current_app.config["PATROLDESK"].web.failed_sign_ins
    browser = browser_id(name)
    if browser:
        return [(lockout.browser_key(browser), limit)]
    return [(lockout.name_key(name), limit),
            (lockout.address_key(request.remote_addr or "unknown"), limit * ADDRESS_LIMIT_FACTOR)]


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
    flash(_("Signed out."))
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/password", methods=["GET", "POST"])
@requires("agent")
def password():
    form = PasswordForm()
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        config, now = current_app.config["PATROLDESK"].web, utcnow()
        keys = [(lockout.password_key(me().id), config.failed_sign_ins)]
        blocked = lockout.reserve(keys, now, config.lockout_minutes)
        if blocked:
            form.current.errors = [_("Too many wrong current passwords: try again after %(time)s UTC.",
                                     time=f"{blocked:%H:%M:%S}")]
            status = 429
        elif not users.check_password(me(), form.current.data):
            if lockout.failed(keys, now, config.lockout_minutes):
                return _sign_out_after_wrong_passwords()
            form.current.errors = [_("That is not your current password.")]
        else:
            lockout.succeeded([key for key, _ in keys])
            return _change_password(form) or (render_template("auth/password.html", form=form), 400)
    return render_template("auth/password.html", form=form), status


def _change_password(form: PasswordForm):
    """The new password, if the rule takes it: this browser stays signed in with a new session."""
    try:
        users.set_password(me(), form.new.data)
    except PatroldeskError as exc:
        form.new.errors = [said(exc)]
        return None
    user = _revoke_sessions(me())
    session.clear()
    login_user(SignedIn(user))
    flash(_("Password changed; your other sessions are signed out."))
    return redirect(url_for("tickets.queue"))


def _sign_out_after_wrong_passwords():
    """Whoever keeps guessing at the current password is not let go on guessing in this session."""
    logout_user()
    session.clear()
    flash(_("Signed out: too many wrong current passwords. Sign in again to go on."))
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/language", methods=["POST"])
@requires("agent")
def language():
    """The user's own choice of the console's language ("" follows the browser)."""
    code = request.form.get("language", "")
    if code and code not in SHIPPED:
        flash(_("Choose one of the listed languages."), "error")
        return redirect(url_for("auth.password"))
    me().language = accounts.set_language(me(), code).language
    refresh()  # this very message is said in the language just chosen
    flash(_("The console now speaks your chosen language."))
    return redirect(url_for("auth.password"))


def _revoke_sessions(user: User) -> User:
    return accounts.revoke_sessions(user)
