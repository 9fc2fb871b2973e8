"""Explicit policies: the team's tacit rules as data, evaluated safely, acting on real mail."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.patrol import policies
from daemon.patrol.policies import PolicyRefused
from daemon.people.users import create_user
from daemon.store import db
from daemon.store.models import AuditEvent, Customer, Outgoing, Policy, PolicyFiring, Ticket
from tests.conftest import make_config
from tests.corpus import simple_mail

SUPPORT = "hjelp@example.no"


@pytest.fixture
def config(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, support={"addresses": [SUPPORT]})
    handle = db.open_database(config)
    db.upgrade()
    yield config
    handle.close()


def mail_in(config, sender: str, n: int, first: bool = False) -> None:
    """The n-th mail of `sender` about one problem: the first opens a ticket, the rest answer it."""
    spool.enqueue(simple_mail(frm=sender, to=SUPPORT, subject="Fakturaen er feil", body=f"Mail {n}",
                              message_id=f"{sender}.{n}", in_reply_to=None if first else f"{sender}.{n - 1}"),
                  "test")
    pipeline.drain(config)


def the_rule() -> None:
    """The seeds' example: big spenders escalate at their first request, the others at their third."""
    policies.save_policy("big spenders at once", "customer.monthly_spend >= 10000 and ticket.contact_count >= 1",
                         "escalate")
    policies.save_policy("others at the third request",
                         "(customer.monthly_spend < 10000 or customer.monthly_spend == none) "
                         "and ticket.contact_count >= 3", "escalate")


def trail(ticket: Ticket) -> list[dict]:
    return [json.loads(e.detail) for e in AuditEvent.select().where(
        (AuditEvent.ticket == ticket.id) & (AuditEvent.action == "policy fired")).order_by(AuditEvent.id)]


def test_a_big_spender_is_escalated_at_the_first_request_and_others_at_the_third(config):
    the_rule()
    mail_in(config, "ola@example.no", 1, first=True)  # a first mail opens the customer record
    policies.set_customer_attributes("ola@example.no", {"monthly_spend": 12000})
    mail_in(config, "stor@example.no", 0, first=True)
    policies.set_customer_attributes("stor@example.no", {"monthly_spend": 10000})
    big_ticket = Ticket.select().join(Customer).where(Customer.email == "stor@example.no").get()
    # Attributes set after the first mail: the next mail from the big spender escalates at once.
    mail_in(config, "stor@example.no", 1)
    assert Ticket.get_by_id(big_ticket.id).escalated
    [fired] = trail(big_ticket)
    assert fired["policy"] == "big spenders at once" and fired["changed"] == "escalated"

    mail_in(config, "liten@example.no", 1, first=True)
    small = Ticket.select().order_by(Ticket.id.desc()).get()
    assert not Ticket.get_by_id(small.id).escalated
    mail_in(config, "liten@example.no", 2)
    assert not Ticket.get_by_id(small.id).escalated and trail(small) == []
    mail_in(config, "liten@example.no", 3)
    assert Ticket.get_by_id(small.id).escalated
    [fired] = trail(small)
    assert fired["policy"] == "others at the third request"
    mail_in(config, "liten@example.no", 4)
    assert len(trail(small)) == 1  # a policy acts once per ticket
    assert PolicyFiring.select().count() == 2


def test_a_first_contact_from_a_known_big_spender_escalates(config):
    the_rule()
    mail_in(config, "stor@example.no", 1, first=True)
    policies.set_customer_attributes("stor@example.no", {"monthly_spend": 25000, "plan": "gold"})
    spool.enqueue(simple_mail(frm="stor@example.no", to=SUPPORT, subject="Ny sak", body="Hei",
                              message_id="ny@example.no"), "test")
    pipeline.drain(config)
    ticket = Ticket.get(Ticket.subject == "Ny sak")
    assert ticket.escalated and [f["policy"] for f in trail(ticket)] == ["big spenders at once"]


@pytest.mark.parametrize("condition, column, words", [
    ("customer.monthly_spend >= 10000 andd ticket.contact_count >= 1", 33, "cannot read it"),
    ("customer.monthly_spend >= 10000 and __import__('os').system('x')", 37, "call is not part"),
    ("ticket.foo == 1", 1, "ticket has no 'foo'"),
    ("customer.__class__ == 1", 1, "names starting with _"),
    ("monthly_spend >= 10000", 1, "unknown name 'monthly_spend'"),
    ("customer.monthly_spend * 2 > 100", 1, "binop is not part"),
    ("ticket.contact_count >= 1 and ticket.subject.upper == 'X'", 31, "only customer.<name> and ticket.<name>"),
    ("[x for x in ticket.subject]", 1, "listcomp is not part"),
    ("", None, "the condition is empty"),
])
def test_a_malformed_condition_is_refused_when_saved_with_the_position_of_the_error(config, condition, column, words):
    with pytest.raises(PolicyRefused) as refused:
        policies.save_policy("bad", condition, "escalate")
    message = str(refused.value)
    assert words in message
    if column is not None:
        assert message.startswith(f"condition, column {column}: ")
        caret_line = message.splitlines()[-1]
        assert caret_line.index("^") - 2 == column - 1  # the caret points at the column
    assert Policy.select().count() == 0


def test_actions_are_checked_and_carried_out(config):
    with pytest.raises(PolicyRefused, match="action 'explode'"):
        policies.save_policy("bad", "ticket.contact_count >= 1", "explode")
    with pytest.raises(PolicyRefused, match="action 'priority:extreme'"):
        policies.save_policy("bad", "ticket.contact_count >= 1", "priority:extreme")
    create_user("olga", "reviewer", "korrekt-hest-batteri", email="olga@example.no")
    policies.save_policy("vip", "customer.domain in ['bank.no', 'stat.no']", "priority:urgent")
    policies.save_policy("billing", "ticket.subject == 'Fakturaen er feil'", "group:billing")
    policies.save_policy("look", "customer.domain == 'bank.no' and not ticket.escalated", "notify-reviewers")
    mail_in(config, "kunde@bank.no", 1, first=True)
    ticket = Ticket.get()
    assert (ticket.priority, ticket.group_name) == ("urgent", "billing")
    [notice] = Outgoing.select().where(Outgoing.kind == "policy")
    assert json.loads(notice.recipients) == ["olga@example.no"] and "needs a look" in notice.subject
    assert {f["policy"] for f in trail(ticket)} == {"vip", "billing", "look"}


@pytest.mark.parametrize("condition, holds", [
    ("customer.plan == 'gold'", True),
    ("customer.plan in ['gold', 'platinum'] and customer.monthly_spend > 999.5", True),
    ("customer.plan not in ('gold',)", False),
    ("customer.missing == none", True),
    ("customer.missing >= 10", False),  # nothing compares with a number when it is not set
    ("not (ticket.contact_count >= 2)", True),
    ("ticket.priority == 'normal' or ticket.escalated", True),
    ("customer.monthly_spend >= -1 and customer.tickets == 1", True),
    ("1 < ticket.contact_count < 5", False),
    ("customer.active == true", True),
])
def test_conditions_mean_what_they_say(config, condition, holds):
    mail_in(config, "gull@example.no", 1, first=True)
    policies.set_customer_attributes("gull@example.no", {"plan": "gold", "monthly_spend": 1000, "active": True})
    facts = policies.facts_for(Ticket.get())
    assert policies.evaluate(policies.compile_condition(condition), facts) is holds


def test_policy_commands(tmp_path):
    config_file = tmp_path / "patroldesk.toml"
    config_file.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/pd.db"\n[paths]\nvar = "{tmp_path}/var"\n'
                           f'[support]\naddresses = ["{SUPPORT}"]\n')

    def run(*args, check=True):
        result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config_file), *args],
                                capture_output=True, text=True, timeout=60)
        assert (result.returncode == 0) == check, result.stdout + result.stderr
        return result

    run("init")
    (tmp_path / "m.eml").write_bytes(simple_mail(frm="stor@example.no", to=SUPPORT, subject="Hjelp", body="Hei",
                                                 message_id="c1@example.no"))
    run("ingest", str(tmp_path / "m.eml"))
    assert run("customer", "set", "stor@example.no", "monthly_spend=12000", "plan=gold").stdout == \
        'stor@example.no: {"monthly_spend": 12000, "plan": "gold"}\n'
    run("policy", "add", "big", "--when", "customer.monthly_spend >= 10000 and ticket.contact_count >= 1",
        "--then", "escalate", "--description", "Big spenders are escalated at the first request")
    refused = run("policy", "add", "bad", "--when", "customer.monthly_spend >== 1", "--then", "escalate", check=False)
    assert refused.stderr.startswith("patroldesk: condition, column 26: cannot read it")  # the second =
    tested = run("policy", "test", "10001").stdout
    assert '"monthly_spend": 12000' in tested and "  big: holds -> escalated" in tested
    listed = run("policy", "list").stdout
    assert listed.startswith("big: when customer.monthly_spend >= 10000 and ticket.contact_count >= 1 -> escalate"
                             "  (fired 0 times)")
    run("policy", "disable", "big")
    assert "big (disabled)" in run("policy", "list").stdout


@pytest.mark.parametrize("condition, words", [
    ("not " * 400 + "true", "nested more than 30 levels deep"),
    ("true and (" * 40 + "true" + ")" * 40, "nested more than 30 levels deep"),
    ("not " * 2000 + "true", "characters long; at most 2000"),
    ("-True < 1", "is not part of the condition language"),
    ("ticket.group in 'abc'", "in and not in look in a list"),
])
def test_conditions_that_could_exhaust_or_surprise_are_refused(config, condition, words):
    with pytest.raises(PolicyRefused, match=words):
        policies.compile_condition(condition)


def test_in_looks_for_words_in_text_never_for_nothing(config):
    mail_in(config, "ola@example.no", 1, first=True)
    facts = policies.facts_for(Ticket.get())
    assert policies.evaluate(policies.compile_condition("'FAKTURA' in ticket.subject"), facts)
    assert not policies.evaluate(policies.compile_condition("ticket.group in ticket.subject"), facts)  # '' finds nothing
