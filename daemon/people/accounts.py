"""Keeping people's accounts: their role, whether they may sign in, a new password.

Only an active admin keeps accounts (or the command line, run by whoever
runs the server). Two rules protect the installation from its admins:
nobody demotes or deactivates themselves (a slip of the hand would lock
them out mid-task), and the last active admin can never be demoted or
deactivated, by anyone, or nobody could keep users any more. Every change ends the account's
sessions at once (its `session_version` moves on), so a demoted or
deactivated person's open browser loses what it could do, and is kept on
the audit trail with who made it.
"""
from __future__ import annotations

from peewee import IntegrityError

from daemon import tickets
from daemon.errors import NotFound, PatroldeskError
from daemon.languages import N_, SHIPPED
from daemon.people import users
from daemon.store import db
from daemon.store.db import database
from daemon.store.models import ROLES, User


class AccountRefused(PatroldeskError):
    """A change to an account that the rules forbid; `field` names the form field it is about."""

    def __init__(self, message: str, field: str = ""):
        self.field = field
        super().__init__(message)


# Which field each of daemon.people.users' refusals is about, by the words it opens with.
_USERS_REFUSALS = (("role must", "role"), ("a username", "username"), ("the username", "username"),
                   ("a password", "password"))


def get_user(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise NotFound(N_("no user with id %(id)s", id=user_id))
    return user


def create_account(username: str, role: str, password: str, name: str = "", email: str = "",
                   actor: User | None = None) -> User:
    """A new account (daemon.people.users' rules), its name and address within what the columns hold."""
    if len(name) > User.name.max_length:
        raise AccountRefused(N_("a name is at most %(most)s characters", most=User.name.max_length), "name")
    if email and (len(email) > User.email.max_length or "@" not in email[1:-1] or any(c.isspace() for c in email)):
        raise AccountRefused(N_("that is not an e-mail address (name@example.com, or nothing)"), "email")
    with database.atomic():
        _refuse_unless_admin(actor)
        try:
            user = users.create_user(username, role, password, email=email, name=name)
        except PatroldeskError as exc:
            field = next((f for opening, f in _USERS_REFUSALS if str(exc).startswith(opening)), "username")
            raise AccountRefused(exc.args[0] if exc.args else str(exc), field) from None
        except IntegrityError:  # the same name, created by someone else this very moment
            raise AccountRefused(N_("the username %(name)r is taken", name=username), "username") from None
        tickets.audit(None, "user created", {"user": username, "role": role}, actor=actor)
    return user


def set_role(user: User, role: str, actor: User | None) -> User:
    """Give `user` another role; refuses an unknown role, one's own demotion and the last admin's."""
    if role not in ROLES:
        raise AccountRefused(N_("role must be one of %(roles)s, not %(role)r", roles=", ".join(ROLES), role=role),
                             "role")
    with database.atomic():
        current = _locked(user.id)
        _refuse_unless_admin(actor)
        if current.role == role:
            return current
        if role != "admin":
            _refuse_losing_an_admin(current, actor, "demote")
        User.update(role=role).where(User.id == current.id).execute()
        tickets.audit(None, "user role changed", {"user": current.username, "from": current.role, "to": role},
                      actor=actor)
        return revoke_sessions(current)


def set_active(user: User, active: bool, actor: User | None) -> User:
    """Let `user` sign in again, or stop them; refuses to stop oneself or the last active admin."""
    with database.atomic():
        current = _locked(user.id)
        _refuse_unless_admin(actor)
        if bool(current.active) == active:
            return current
        if not active:
            _refuse_losing_an_admin(current, actor, "deactivate")
        User.update(active=active).where(User.id == current.id).execute()
        tickets.audit(None, "user reactivated" if active else "user deactivated", {"user": current.username},
                      actor=actor)
        return revoke_sessions(current)


def reset_password(user: User, actor: User | None) -> str:
    """Give another person's account a new random password (returned, to be shown once)."""
    if actor is not None and actor.id == user.id:
        raise AccountRefused(N_("change your own password on the password page: it asks for the current one"),
                             "password")
    password = users.new_password()
    with database.atomic():
        _refuse_unless_admin(actor)
        users.set_password(user, password)
        tickets.audit(None, "user password reset", {"user": user.username}, actor=actor)
        revoke_sessions(user)
    return password


def set_language(user: User, language: str, actor: User | None = None) -> User:
    """The console's language for `user` (a shipped one, or "" to follow the browser); anyone may set
    their own, an active admin anyone's."""
    if language and language not in SHIPPED:
        raise AccountRefused(N_("the console speaks %(languages)s (or follows the browser), not %(language)r",
                                languages=", ".join(SHIPPED), language=language), "language")
    with database.atomic():
        if actor is not None and actor.id != user.id:
            _refuse_unless_admin(actor)
        User.update(language=language).where(User.id == user.id).execute()
    return User.get_by_id(user.id)


def revoke_sessions(user: User) -> User:
    """End every session the account has (each carries the version it was issued under)."""
    User.update(session_version=User.session_version + 1).where(User.id == user.id).execute()
    return User.get_by_id(user.id)


def _refuse_unless_admin(actor: User | None) -> None:
    """Only an active admin keeps accounts (None: the command line, run by whoever runs the server)."""
    if actor is None:
        return
    current = User.get_or_none(User.id == actor.id)
    if current is None or current.role != "admin" or not current.active:
        raise AccountRefused(N_("only an active admin changes accounts (%(user)s is not one now)",
                                user=actor.username))


# Each verb's refusal whole, so that it can be said in other languages too.
_YOURSELF = {"demote": N_("you cannot demote yourself; another admin can"),
             "deactivate": N_("you cannot deactivate yourself; another admin can")}


def _refuse_losing_an_admin(user: User, actor: User | None, verb: str) -> None:
    field = "role" if verb == "demote" else "active"
    if actor is not None and actor.id == user.id:
        raise AccountRefused(_YOURSELF[verb], field)
    if user.role == "admin" and user.active and not _other_active_admins(user):
        raise AccountRefused(N_("%(user)s is the last active admin: make another admin first, "
                                "or nobody could keep users any more", user=user.username), field)


def _other_active_admins(user: User) -> int:
    return User.select().where((User.role == "admin") & User.active & (User.id != user.id)).count()


def _locked(user_id: int) -> User:
    """The account as it stands now. On PostgreSQL its row and every admin's are locked, in
    id order, for the rest of the transaction: two admins demoting each other at once must
    not both succeed, nor deadlock (SQLite takes its one write lock at BEGIN already)."""
    if not db.is_sqlite():
        db.execute('SELECT "id" FROM "user" WHERE "id" = ? OR "role" = ? ORDER BY "id" FOR UPDATE',
                   (user_id, "admin")).fetchall()
    current = User.get_or_none(User.id == user_id)
    if current is None:
        raise NotFound(N_("no user with id %(id)s", id=user_id))
    return current
