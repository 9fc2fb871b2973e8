"""daemon.people.accounts: roles, deactivation and password resets, and the rules that keep an admin.

On SQLite and PostgreSQL, since the last-admin rule depends on each
database's locking when two admins act at once.
"""
from __future__ import annotations

import threading

import pytest

from daemon.people import accounts, users
from daemon.people.accounts import AccountRefused
from daemon.store import db
from daemon.store.db import database
from daemon.store.models import AuditEvent, User
from tests.conftest import make_config

PASSWORD = "correct horse battery"


@pytest.fixture
def people(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url)
    handle = db.open_database(config)
    db.upgrade()
    yield {name: users.create_user(name, role, PASSWORD)
           for name, role in (("ada", "admin"), ("bo", "admin"), ("cy", "agent"))}
    handle.close()


def fresh(user: User) -> User:
    return User.get_by_id(user.id)


def test_the_last_active_admin_is_never_demoted_or_deactivated(people):
    ada, bo = people["ada"], people["bo"]
    accounts.set_active(bo, False, actor=ada)
    with pytest.raises(AccountRefused, match="ada is the last active admin"):
        accounts.set_role(ada, "reviewer", actor=None)
    with pytest.raises(AccountRefused, match="ada is the last active admin"):
        accounts.set_active(ada, False, actor=None)
    assert (fresh(ada).role, fresh(ada).active) == ("admin", True)
    accounts.set_active(bo, True, actor=ada)
    accounts.set_role(ada, "reviewer", actor=bo)  # another active admin remains: allowed
    assert fresh(ada).role == "reviewer"


def test_nobody_demotes_or_deactivates_themselves(people):
    ada = people["ada"]
    with pytest.raises(AccountRefused, match="you cannot demote yourself") as refused:
        accounts.set_role(ada, "agent", actor=ada)
    assert refused.value.field == "role"
    with pytest.raises(AccountRefused, match="you cannot deactivate yourself"):
        accounts.set_active(ada, False, actor=ada)
    assert (fresh(ada).role, fresh(ada).active, fresh(ada).session_version) == ("admin", True, 0)


def test_each_change_ends_the_sessions_and_is_on_the_trail(people):
    ada, cy = people["ada"], people["cy"]
    assert accounts.set_role(cy, "reviewer", actor=ada).session_version == 1
    assert accounts.set_active(cy, False, actor=ada).session_version == 2
    assert accounts.set_role(cy, "reviewer", actor=ada).session_version == 2  # no change, nothing ended
    password = accounts.reset_password(cy, actor=ada)
    assert fresh(cy).session_version == 3
    assert users.check_password(fresh(cy), password) and not users.check_password(fresh(cy), PASSWORD)
    trail = [(event.action, event.actor_id) for event in AuditEvent.select().order_by(AuditEvent.id)]
    assert trail == [("user role changed", ada.id), ("user deactivated", ada.id), ("user password reset", ada.id)]


def test_only_an_active_admin_changes_accounts(people):
    ada, bo, cy = people["ada"], people["bo"], people["cy"]
    with pytest.raises(AccountRefused, match="only an active admin changes accounts"):
        accounts.set_role(cy, "admin", actor=cy)
    accounts.set_active(bo, False, actor=ada)
    for change in (lambda: accounts.set_active(cy, False, actor=bo), lambda: accounts.reset_password(cy, actor=bo),
                   lambda: accounts.create_account("dag", "agent", PASSWORD, actor=bo)):
        with pytest.raises(AccountRefused, match="bo is not one now"):
            change()
    assert (fresh(cy).role, fresh(cy).active, fresh(cy).session_version) == ("agent", True, 0)


def test_an_unknown_role_and_an_unknown_user_are_refused(people):
    with pytest.raises(AccountRefused, match="role must be one of agent, reviewer, admin"):
        accounts.set_role(people["cy"], "owner", actor=people["ada"])
    with pytest.raises(accounts.NotFound, match="no user with id 999"):
        accounts.get_user(999)


def test_a_new_account_says_which_field_is_wrong(people):
    cases = [(("cy", "agent", PASSWORD), {}, "username", "the username 'cy' is taken"),
             (("dag", "owner", PASSWORD), {}, "role", "role must be one of"),
             (("dag", "agent", "short"), {}, "password", "at least 10 characters"),
             (("d a g", "agent", PASSWORD), {}, "username", "without spaces"),
             (("dag", "agent", PASSWORD), {"email": "dag at example"}, "email", "not an e-mail address"),
             (("dag", "agent", PASSWORD), {"name": "x" * 201}, "name", "at most 200 characters")]
    for args, extra, field, words in cases:
        with pytest.raises(AccountRefused, match=words) as refused:
            accounts.create_account(*args, **extra)
        assert refused.value.field == field, args
    assert not User.select().where(User.username == "dag").exists()
    made = accounts.create_account("dag", "agent", PASSWORD, name="Dag", email="dag@example.no",
                                   actor=people["ada"])
    assert (made.role, made.email) == ("agent", "dag@example.no")
    assert AuditEvent.get(AuditEvent.action == "user created").actor_id == people["ada"].id


def test_two_admins_demoting_each_other_at_once_leave_one_admin(people):
    """The first demotion holds its transaction open while the second one starts: the
    second must wait for it, see it, and refuse, or there would be no admin left."""
    ada, bo = people["ada"], people["bo"]
    first_done, let_go = threading.Event(), threading.Event()
    outcome = {}

    def first():
        try:
            with database.atomic():
                accounts.set_role(bo, "agent", actor=ada)
                first_done.set()
                let_go.wait(10)
        finally:
            database.close()

    def second():
        try:
            accounts.set_role(ada, "agent", actor=None)  # by the command line: no actor's role to lose
            outcome["second"] = "demoted"
        except AccountRefused as exc:
            outcome["second"] = str(exc)
        finally:
            database.close()

    holder = threading.Thread(target=first)
    holder.start()
    assert first_done.wait(10)
    racer = threading.Thread(target=second)
    racer.start()
    racer.join(0.5)  # it must be waiting for the first transaction, not done already
    still_waiting = racer.is_alive()
    let_go.set()
    holder.join(10)
    racer.join(10)
    assert still_waiting
    assert outcome["second"].startswith("ada is the last active admin")
    assert [(u.username, u.role) for u in User.select().where(User.role == "admin")] == [("ada", "admin")]
