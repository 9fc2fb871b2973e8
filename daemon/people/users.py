"""Accounts of the people who work the tickets: agents, reviewers, admins."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from daemon.errors import PatroldeskError
from daemon.store.models import ROLES, User

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


def new_password() -> str:
    """A random password for a first account, printed once."""
    return secrets.token_urlsafe(12)


def create_user(username: str, role: str, password: str, email: str = "", name: str = "") -> User:
    """An account with an argon2id password hash; refuses a weak password or a taken name."""
    if role not in ROLES:
        raise PatroldeskError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise PatroldeskError("a username is 1 to 100 characters without spaces")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PatroldeskError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if User.select().where(User.username == username).exists():
        raise PatroldeskError(f"the username {username!r} is taken")
    return User.create(username=username, role=role, email=email, name=name,
                       password_hash=_hasher.hash(password))


def set_password(user: User, password: str) -> None:
    """Store a new argon2id hash, under the same length rule as a new account."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PatroldeskError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
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
