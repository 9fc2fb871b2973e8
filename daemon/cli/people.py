"""`patroldesk user`: the accounts of agents, reviewers and admins.
"""
from __future__ import annotations

import sys

import click

from daemon.cli.root import App, cli, pass_app
from daemon.errors import PatroldeskError
from daemon.people import accounts, users
from daemon.languages import SHIPPED
from daemon.store.models import ROLES, User


@cli.group("user")
def user_group():
    """Accounts of agents, reviewers and admins."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="agent", show_default=True)
@click.option("--email", default="")
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def user_add(app: App, username, role, email, name, password_stdin):
    """Add an account; without --password-stdin a password is made up and printed once."""
    app.database()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else users.new_password()
    users.create_user(username, role, password, email=email, name=name)
    click.echo(f"added {role} {username!r}" + ("" if password_stdin else f", password {password} (shown once)"))


@user_group.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (one line).")
@pass_app
def user_password(app: App, username, password_stdin):
    """Set a new password for an account; without --password-stdin it is asked for twice, not echoed."""
    app.database()
    user = _named_user(username)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    users.set_password(user, password)
    accounts.revoke_sessions(user)  # a password reset because of a leak must end the thief's session too
    click.echo(f"password of {username!r} changed; its console sessions are signed out")


@user_group.command("language")
@click.argument("username")
@click.argument("language", type=click.Choice(["browser", *SHIPPED]))
@pass_app
def user_language(app: App, username, language):
    """The console's language for an account; "browser" follows the browser's Accept-Language."""
    app.database()
    user = _named_user(username)
    accounts.set_language(user, "" if language == "browser" else language)
    shown = "the browser's language" if language == "browser" else language
    click.echo(f"the console speaks {shown} to {username!r}")


def _named_user(username: str) -> User:
    """The account of that name, active or not (an admin may set it up before enabling it)."""
    user = User.get_or_none(User.username == username)
    if user is None:
        raise PatroldeskError(f"no user {username!r}")
    return user
