"""Sign-in abuse: strangers are slowed down without locking out the real user's browser, the current
password on the password page has a limit, and weak passwords are refused with a reason, in the console
and the CLI. Flask's test client on a real SQLite file; the CLI as a process.
"""
from __future__ import annotations

import datetime as dt

import pytest

from daemon.people import accounts, lockout, users
from daemon.people.accounts import AccountRefused
from daemon.store.models import User
from tests.test_cli import cli, workdir  # noqa: F401 (a fixture)
from tests.webtools import PASSWORD, post, token

STRANGER = {"REMOTE_ADDR": "203.0.113.9"}
OFFICE = {"REMOTE_ADDR": "198.51.100.7"}


def attempt(client, username: str, password: str):
    return client.post("/sign-in", data={"username": username, "password": password, "csrf_token": token(client)})


def browser(console, where: dict):
    client = console.app.test_client()
    client.environ_base.update(where)
    return client


def test_a_stranger_failing_as_the_admin_does_not_lock_out_the_admins_own_browser(console):
    admins = browser(console, OFFICE)
    assert attempt(admins, "admin", PASSWORD).status_code == 302  # this browser is known from now on
    post(admins, "/sign-out", {})
    stranger = browser(console, STRANGER)
    answers = [attempt(stranger, "admin", f"guess number {n}").status_code for n in range(8)]
    limit = console.app.config["PATROLDESK"].web.failed_sign_ins
    assert answers == [401] * limit + [429] * (8 - limit)
    refused = attempt(stranger, "admin", PASSWORD)  # even the right password, from a client never signed in
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.get_data(as_text=True)
    assert attempt(admins, "admin", PASSWORD).status_code == 302
    assert admins.get("/admin/").status_code == 200
    # Behind the stranger's own address too (one office, one NAT): the known browser is let in.
    admins.environ_base.update(STRANGER)
    post(admins, "/sign-out", {})
    assert attempt(admins, "admin", PASSWORD).status_code == 302


def test_a_browser_known_for_one_name_is_a_stranger_to_another(console):
    agents = browser(console, OFFICE)
    assert attempt(agents, "agent", PASSWORD).status_code == 302
    post(agents, "/sign-out", {})
    limit = console.app.config["PATROLDESK"].web.failed_sign_ins
    assert [attempt(agents, "admin", "not the password").status_code for _ in range(limit + 1)][-1] == 429
    assert attempt(agents, "agent", PASSWORD).status_code == 302  # its own name is untouched


def test_a_forged_known_browser_cookie_counts_for_nothing(console):
    stranger = browser(console, STRANGER)
    stranger.set_cookie("patroldesk_known", "W1siYWRtaW4iLCAiMTIzNCJdXQ.forged.signature", path="/sign-in")
    limit = console.app.config["PATROLDESK"].web.failed_sign_ins
    answers = [attempt(stranger, "admin", "not the password").status_code for _ in range(limit + 1)]
    assert answers[-1] == 429


def test_one_address_guessing_at_many_names_is_refused(console):
    stranger = browser(console, STRANGER)
    limit = console.app.config["PATROLDESK"].web.failed_sign_ins
    for n in range(limit * 4):
        assert attempt(stranger, f"name{n}", "not the password").status_code == 401
    assert attempt(stranger, "agent2", PASSWORD).status_code == 429  # the address is blocked, whatever the name
    assert attempt(browser(console, OFFICE), "agent2", PASSWORD).status_code == 302


def test_each_block_of_a_stranger_is_twice_as_long_as_the_last(database):
    keys, minutes, now = [("name:admin", 5)], 15, dt.datetime(2026, 3, 1, 12, 0)
    for block in (15, 30, 60, 120):
        for _ in range(5):
            assert lockout.reserve(keys, now, minutes) is None
            until = lockout.failed(keys, now, minutes)
        assert until == now + dt.timedelta(minutes=block)
        assert lockout.reserve(keys, until - dt.timedelta(seconds=1), minutes) == until  # refused, nothing taken
        now = until
    assert lockout.blocked_until("name:admin") == now


def test_a_wrong_current_password_has_a_limit_then_the_session_is_signed_out(console):
    client = browser(console, OFFICE)
    assert attempt(client, "agent", PASSWORD).status_code == 302
    change = {"new": "a new long password", "again": "a new long password"}
    limit = console.app.config["PATROLDESK"].web.failed_sign_ins
    for _ in range(limit - 1):
        wrong = post(client, "/password", {"current": "a wrong guess", **change})
        assert wrong.status_code == 400 and "not your current password" in wrong.get_data(as_text=True)
    last = post(client, "/password", {"current": "a wrong guess", **change})
    assert last.status_code == 302 and last.headers["Location"].startswith("/sign-in")
    assert client.get("/password").status_code == 302  # signed out
    assert attempt(client, "agent", PASSWORD).status_code == 302
    right = post(client, "/password", {"current": PASSWORD, **change})
    assert right.status_code == 429 and "Too many wrong current passwords" in right.get_data(as_text=True)
    assert users.check_password(User.get(User.username == "agent"), PASSWORD)  # unchanged


@pytest.mark.parametrize("new, reason", [
    ("aaaaaaaaaa", "Repeats like"),
    ("password12", "very common password"),
    ("qwertyuiop", "harder to guess"),
    (PASSWORD, "differ from the one it replaces"),
    ("agent@support.example", "must not be your username, name or e-mail address"),
    ("short", "at least 10 characters"),
])
def test_a_weak_new_password_is_refused_with_the_reason(console, new, reason):
    client = console.client("agent")
    refused = post(client, "/password", {"current": PASSWORD, "new": new, "again": new})
    assert refused.status_code == 400 and reason in refused.get_data(as_text=True).replace("&#34;", '"')
    assert users.check_password(User.get(User.username == "agent"), PASSWORD)


def test_an_admin_cannot_give_a_new_account_a_weak_password(console):
    admin = console.client("admin")
    refused = post(admin, "/admin/users/new", {"username": "dag", "role": "agent", "password": "password12"},
                   page="/admin/users/new")
    assert refused.status_code == 400 and "very common password" in refused.get_data(as_text=True)
    with pytest.raises(AccountRefused, match="harder to guess") as weak:
        accounts.create_account("dag", "agent", "dag12345678")
    assert weak.value.field == "password"
    assert not User.select().where(User.username == "dag").exists()


def test_the_cli_refuses_weak_passwords_with_the_reason(workdir):  # noqa: F811
    weak_admin = cli(workdir, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "admin12345"}, check=False)
    assert weak_admin.returncode == 1 and "harder to guess" in weak_admin.stderr
    assert "created the admin account" in cli(workdir, "init").stdout
    for weak, reason in (("aaaaaaaaaa", "Repeats like"), ("password12", "very common password"),
                         ("kari-kari-kari", "harder to guess")):
        added = cli(workdir, "user", "add", "kari", "--password-stdin", input=f"{weak}\n", check=False)
        assert added.returncode == 1 and reason in added.stderr, added.stderr
    cli(workdir, "user", "add", "kari", "--password-stdin", input="first password\n")
    same = cli(workdir, "user", "password", "kari", "--password-stdin", input="first password\n", check=False)
    assert same.returncode == 1 and "differ from the one it replaces" in same.stderr
    common = cli(workdir, "user", "password", "kari", "--password-stdin", input="password12\n", check=False)
    assert common.returncode == 1 and "very common password" in common.stderr
