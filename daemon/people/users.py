"""Accounts of the people who work the tickets: agents, reviewers, admins."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from daemon.errors import PatroldeskError
from daemon.languages import N_
from daemon.people.strength import MIN_PASSWORD_LENGTH, refuse_weak  # noqa: F401 (the console's form)
from daemon.store.models import ROLES, User

_hasher = PasswordHasher()


def new_password() -> str:
    """A random password for a first account or a reset, printed once (it meets the rule like any other)."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            refuse_weak(password)
            return password
        except PatroldeskError:  # a random string that happens to read as words or a run: draw again
            continue


def create_user(username: str, role: str, password: str, email: str = "", name: str = "") -> User:
    """An account with an argon2id password hash; refuses a weak password (daemon.people.strength) or a taken name."""
    if role not in ROLES:
        raise PatroldeskError(N_("role must be one of %(roles)s, not %(role)r", roles=", ".join(ROLES), role=role))
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise PatroldeskError(N_("a username is 1 to 100 characters without spaces"))
    refuse_weak(password, (username, name, email))
    if User.select().where(User.username == username).exists():
        raise PatroldeskError(N_("the username %(name)r is taken", name=username))
    return User.create(username=username, role=role, email=email, name=name,
                       password_hash=_hasher.hash(password))


def set_password(user: User, password: str) -> None:
    """Store a new argon2id hash, under the same rule as a new account; never the password it replaces."""
    refuse_weak(password, (user.username, user.name, user.email))
    if check_password(user, password):
        raise PatroldeskError(N_("a password must differ from the one it replaces"))
    User.update(password_hash=_hasher.hash(password)).where(User.id == user.id).execute()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def any_admin() -> bool:
    return User.select().where((User.role == "admin") & User.active).exists()
