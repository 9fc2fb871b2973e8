"""Closing needs an SBO note; the patrol-report log is append-only and proves it.

The domain operations run on SQLite and PostgreSQL; the CLI runs as a user
would run it, in another process.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.mail.parse import Address
from daemon.patrol import logbook as patrol
from daemon.patrol.logbook import Note, NoteRefused
from daemon.people.users import create_user
from daemon.store import db
from daemon.store.db import database
from daemon.store.models import AuditEvent, Outgoing, PatrolReport, PatrolReview, Ticket
from daemon.tickets import lifecycle as tickets
from tests.conftest import make_config
from tests.corpus import simple_mail

SUPPORT = "hjelp@example.no"

GOOD = Note(
    situation="Åse could not print from the third-floor printer after Tuesday's Windows update.",
    behaviour="Checked the print queue, restarted the spooler, then reinstalled the vendor's driver.",
    outcome="Printing works again: the update had replaced the driver with a generic one.",
    outcome_kind="resolved", cause="Windows update KB5031 replaces vendor printer drivers",
    tags=("printer", "windows"))


@pytest.fixture
def setup(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, support={"addresses": [SUPPORT]})
    handle = db.open_database(config)
    db.upgrade()
    agent = create_user("kari", "agent", "korrekt-hest-batteri", name="Kari Nordmann")
    reviewer = create_user("olga", "reviewer", "korrekt-hest-batteri", name="Ольга")
    yield config, agent, reviewer
    handle.close()


def open_ticket(config, number_of_mails: int = 1) -> Ticket:
    """A ticket opened by real mail through the pipeline (with its acknowledgement)."""
    spool.enqueue(simple_mail(frm="Åse <ase@example.no>", to=SUPPORT, subject="Skriveren virker ikke",
                              body="Hei, skriveren på tredje etasje skriver ikke ut.", message_id="p1@example.no"),
                  "test")
    pipeline.drain(config)
    return Ticket.get()


def note(**changes) -> Note:
    values = {**GOOD.__dict__, **changes}
    return Note(**values)


def refusal(config, ticket, agent, **changes) -> dict[str, str]:
    with pytest.raises(NoteRefused) as refused:
        patrol.close(config, ticket, note(**changes), agent)
    return refused.value.problems


# Closing needs a note that says something

def test_a_ticket_cannot_be_closed_without_a_note(setup):
    config, agent, _ = setup
    ticket = open_ticket(config)
    problems = refusal(config, ticket, agent, situation="", behaviour="", outcome="", outcome_kind="")
    assert problems == {
        "situation": "missing: write what the customer faced, in their context",
        "behaviour": "missing: write what you did, step by step",
        "outcome": "missing: write what came of it, and why",
        "outcome_kind": "one of resolved, workaround, not-resolved, escalated, duplicate, no-response",
    }
    assert Ticket.get_by_id(ticket.id).status == "new"
    assert PatrolReport.select().count() == 0 and not Outgoing.select().where(Outgoing.kind == "notice").exists()


@pytest.mark.parametrize("missing", ["situation", "behaviour", "outcome"])
def test_each_missing_part_is_named(setup, missing):
    config, agent, _ = setup
    ticket = open_ticket(config)
    assert list(refusal(config, ticket, agent, **{missing: "   \n "})) == [missing]
    assert Ticket.get_by_id(ticket.id).status == "new"


@pytest.mark.parametrize("placeholder", ["done", "Fixed.", "n/a", "see above", "OK!",
                                         "Готово", "сделано.", "см. выше", "Решено!",
                                         "ferdig", "Fikset.", "løst", "se over", "-", "..."])
def test_placeholders_in_english_russian_and_norwegian_are_refused(setup, placeholder):
    config, agent, _ = setup
    ticket = open_ticket(config)
    problems = refusal(config, ticket, agent, outcome=placeholder)
    assert list(problems) == ["outcome"]
    assert "says nothing a reviewer can learn from: write what came of it, and why" in problems["outcome"]
    assert Ticket.get_by_id(ticket.id).status == "new" and PatrolReport.select().count() == 0


def test_short_and_repeated_parts_are_refused(setup):
    config, agent, _ = setup
    ticket = open_ticket(config)
    problems = refusal(config, ticket, agent, behaviour="Rebooted it.",
                       outcome=GOOD.situation.upper() + "  ")
    assert problems["behaviour"] == ("too short (12 characters, at least 20): write what you did, step by step")
    assert problems["outcome"] == "the same text as the situation: write what came of it, and why"


def test_validation_can_be_turned_down_but_never_off_for_missing_parts(tmp_path, setup):
    config, agent, _ = setup
    import dataclasses
    lenient = dataclasses.replace(config, patrol=dataclasses.replace(config.patrol, validate=False))
    ticket = open_ticket(config)
    assert list(refusal(lenient, ticket, agent, behaviour="")) == ["behaviour"]
    report = patrol.close(lenient, ticket, note(behaviour="ok", outcome="ok"), agent)
    assert report.behaviour == "ok"


def test_a_valid_close_writes_one_report_with_the_tickets_facts_and_tells_the_customer_the_outcome(setup):
    config, agent, _ = setup
    ticket = open_ticket(config)
    report = patrol.close(config, ticket, GOOD, agent)
    assert Ticket.get_by_id(ticket.id).status == "solved"
    [stored] = PatrolReport.select()
    assert (stored.id, stored.ticket_id, stored.kind, stored.author_id) == (report.id, ticket.id, "closing", agent.id)
    assert json.loads(stored.tags) == ["printer", "windows"]
    facts = json.loads(stored.facts)
    assert facts["customer"] == {"email": "ase@example.no", "name": "Åse"}
    assert facts["ticket"] == ticket.number and facts["messages"] == {"inbound": 1, "outbound": 1}
    assert facts["message_ids"][0] == "p1@example.no"
    [notice] = Outgoing.select().where(Outgoing.kind == "notice")
    text = bytes(notice.data).decode("ascii")
    import email
    import email.policy
    body = email.message_from_string(text, policy=email.policy.default).get_body(("plain",)).get_content()
    assert GOOD.outcome in body
    assert GOOD.cause not in body and GOOD.behaviour not in body  # the cause stays internal
    # the close, then the knowledge it captured (a new problem: a draft article)
    assert [e.action for e in AuditEvent.select().where(AuditEvent.ticket == ticket.id)][-2:] == [
        "solved", "article linked"]
    assert patrol.verify(config).ok


def test_the_customer_is_told_what_was_done_only_when_the_agent_ticks_it(setup):
    config, agent, _ = setup
    ticket = open_ticket(config)
    patrol.close(config, ticket, note(tell_behaviour=True), agent)
    [notice] = Outgoing.select().where(Outgoing.kind == "notice")
    import email
    import email.policy
    body = email.message_from_bytes(bytes(notice.data), policy=email.policy.default).get_body(("plain",)).get_content()
    assert GOOD.outcome in body and GOOD.behaviour in body and GOOD.cause not in body


def test_a_solved_ticket_is_not_closed_twice_and_a_customer_reply_needs_a_second_note(setup):
    config, agent, _ = setup
    ticket = open_ticket(config)
    patrol.close(config, ticket, GOOD, agent)
    with pytest.raises(Exception, match="already solved"):
        patrol.close(config, ticket, GOOD, agent)
    spool.enqueue(simple_mail(frm="ase@example.no", to=SUPPORT, subject=f"Re: [#{ticket.number}] Solved",
                              body="Den skriver ikke igjen.", message_id="p2@example.no",
                              in_reply_to="p1@example.no"), "test")
    pipeline.drain(config)
    assert Ticket.get_by_id(ticket.id).status == "open"
    assert refusal(config, ticket, agent, situation="")  # reopened: a new note is needed
    second = patrol.close(config, ticket, note(outcome="Printing works again after a second driver reinstall.",
                                               outcome_kind="workaround"), agent)
    closing = list(PatrolReport.select().where(PatrolReport.ticket == ticket.id).order_by(PatrolReport.seq))
    assert [r.kind for r in closing] == ["closing", "closing"] and closing[-1].id == second.id
    assert json.loads(second.facts)["messages"]["inbound"] == 2
    assert patrol.verify(config).ok


def test_an_interim_note_leaves_the_ticket_open_and_the_closing_note_is_last(setup):
    config, agent, _ = setup
    ticket = open_ticket(config)
    interim = patrol.add_interim(config, ticket, note(outcome="Not solved yet: handing over to the network team.",
                                                      outcome_kind="escalated"), agent)
    assert Ticket.get_by_id(ticket.id).status == "new" and interim.kind == "interim"
    closing = patrol.close(config, ticket, GOOD, agent)
    kinds = [r.kind for r in PatrolReport.select().where(PatrolReport.ticket == ticket.id).order_by(PatrolReport.seq)]
    assert kinds == ["interim", "closing"] and closing.seq > interim.seq


# The log is append-only and proves it

def test_stored_reports_and_reviews_cannot_be_updated_or_deleted(setup):
    config, agent, reviewer = setup
    report = patrol.close(config, open_ticket(config), GOOD, agent)
    patrol.review(config, report, "sound", "The driver was the cause.", "Pin the driver version.", reviewer)
    for sql in ('UPDATE "patrol_report" SET "outcome" = \'changed\'', 'DELETE FROM "patrol_report"',
                'UPDATE "patrol_review" SET "verdict" = \'exemplary\'', 'DELETE FROM "patrol_review"'):
        with pytest.raises(Exception, match="append-only"):
            with database.atomic():
                database.execute_sql(sql)
    assert patrol.verify(config).ok


def _drop_guards() -> None:
    """What someone editing the database by hand would do first."""
    for table in ("patrol_report", "patrol_review"):
        if db.is_sqlite():
            for action in ("update", "delete"):
                database.execute_sql(f'DROP TRIGGER "{table}_no_{action}"')
        else:
            database.execute_sql(f'DROP TRIGGER "{table}_append_only" ON "{table}"')


def test_tampering_through_raw_sql_is_found_and_named(setup):
    config, agent, reviewer = setup
    first = patrol.close(config, open_ticket(config), GOOD, agent)
    patrol.correct(config, first, note(outcome="Printing works again; the generic driver lacked the tray setting."),
                   agent)
    patrol.review(config, first, "sound", "Clear.", "Nothing to change.", reviewer)
    assert patrol.verify(config).ok
    _drop_guards()
    database.execute_sql('UPDATE "patrol_report" SET "outcome" = ? WHERE "id" = ?'.replace("?", database.param),
                         ("We did nothing wrong.", first.id))
    result = patrol.verify(config)
    assert not result.ok
    [found] = result.breaks
    assert (found.table, found.row_id, found.seq) == ("patrol_report", first.id, 1)
    assert "does not match its hash" in found.reason


def test_a_removed_report_is_found(setup):
    config, agent, _ = setup
    ticket = open_ticket(config)
    patrol.add_interim(config, ticket, note(outcome="Still looking into it; the driver is the suspect."), agent)
    patrol.add_interim(config, ticket, note(outcome="Still looking; handing over to the second line."), agent)
    patrol.close(config, ticket, GOOD, agent)
    _drop_guards()
    database.execute_sql('DELETE FROM "patrol_report" WHERE "seq" = 2')
    [found] = patrol.verify(config).breaks
    assert found.seq == 3 and "entry 2 is missing" in found.reason


def test_a_review_changed_behind_the_applications_back_is_found(setup):
    config, agent, reviewer = setup
    report = patrol.close(config, open_ticket(config), GOOD, agent)
    review = patrol.review(config, report, "needs-follow-up", "The driver should be pinned.", "Pin it in the image.", reviewer)
    _drop_guards()
    database.execute_sql('UPDATE "patrol_review" SET "verdict" = \'exemplary\'')
    [found] = patrol.verify(config).breaks
    assert (found.table, found.row_id) == ("patrol_review", review.id)


def test_a_correction_is_a_new_revision_and_the_history_shows_both(setup):
    config, agent, _ = setup
    first = patrol.close(config, open_ticket(config), GOOD, agent)
    second = patrol.correct(config, first, note(cause="The vendor driver was never in the image"), agent)
    assert second.corrects_id == first.id and second.kind == "closing"
    assert [r.id for r in patrol.revisions(first)] == [first.id, second.id]
    assert [r.id for r in patrol.revisions(second)] == [first.id, second.id]
    assert PatrolReport.get_by_id(first.id).cause == GOOD.cause  # the old one is untouched
    assert [r.id for r in patrol.list_reports()] == [second.id]
    assert {r.id for r in patrol.list_reports(current_only=False)} == {first.id, second.id}
    with pytest.raises(Exception, match=f"corrected already by report {second.id}"):
        patrol.correct(config, first, GOOD, agent)


def test_reviews_are_signed_by_reviewers_only_and_all_are_kept(setup):
    config, agent, reviewer = setup
    report = patrol.close(config, open_ticket(config), GOOD, agent)
    with pytest.raises(NoteRefused) as refused:
        patrol.review(config, report, "sound", "fine", "none", agent)
    assert refused.value.problems == {"reviewer": "only a reviewer or an admin reviews reports"}
    with pytest.raises(NoteRefused) as refused:
        patrol.review(config, report, "great", "", "", reviewer)
    assert set(refused.value.problems) == {"verdict", "analysis", "decision"}
    patrol.review(config, report, "needs-follow-up", "The driver went missing.", "Ask IT to pin drivers.", reviewer)
    patrol.review(config, report, "exemplary", "On reflection, quick and thorough.", "Use it in training.", reviewer)
    shown = patrol.report_dict(report)
    assert [(r["verdict"], r["reviewer"]) for r in shown["reviews"]] == [("needs-follow-up", "olga"),
                                                                          ("exemplary", "olga")]
    assert PatrolReview.select().count() == 2 and patrol.verify(config).reviews == 2


def test_the_log_lists_what_did_not_end_well_first_and_filters(setup):
    config, agent, reviewer = setup
    ids = {}
    for n, kind in enumerate(["resolved", "not-resolved", "escalated", "no-response", "workaround"]):
        with database.atomic():
            customer = tickets.customer_for(Address("", f"kunde{n}@example.no"))
            ticket = tickets.open_ticket(customer, f"Sak {n}", SUPPORT, 10001)
        ids[kind] = patrol.close(config, ticket, note(outcome_kind=kind, tags=(f"tag{n}",)), agent,
                                 notify=False).id
    order = [r.outcome_kind for r in patrol.list_reports()]
    assert order == ["not-resolved", "no-response", "workaround", "escalated", "resolved"]
    assert [r.id for r in patrol.list_reports(outcome_kind="escalated")] == [ids["escalated"]]
    assert [r.id for r in patrol.list_reports(tag="tag0")] == [ids["resolved"]]
    assert len(patrol.list_reports(agent="kari")) == 5 and patrol.list_reports(agent="olga") == []
    patrol.review(config, PatrolReport.get_by_id(ids["not-resolved"]), "sound", "Out of scope.", "None.", reviewer)
    assert [r.id for r in patrol.list_reports(reviewed=True)] == [ids["not-resolved"]]
    assert len(patrol.list_reports(reviewed=False)) == 4
    assert len(patrol.list_reports(cause="KB5031")) == 5
    # Pages are cut by the database, in the same order.
    assert [r.outcome_kind for r in patrol.list_reports(limit=2, offset=2)] == ["workaround", "escalated"]


def test_a_tag_filter_matches_whole_tags_only(setup):
    config, agent, _ = setup
    closed = {}
    for n, tags in enumerate([("net_work",), ("netXwork", "vpn"), ("net_work2",), ("сеть",)]):
        with database.atomic():
            ticket = tickets.open_ticket(tickets.customer_for(Address("", f"k{n}@example.no")), f"S {n}", SUPPORT,
                                         10001)
        closed[tags[0]] = patrol.close(config, ticket, note(tags=tags), agent, notify=False).id
    assert [r.id for r in patrol.list_reports(tag="net_work")] == [closed["net_work"]]  # no LIKE wildcard
    assert [r.id for r in patrol.list_reports(tag="vpn")] == [closed["netXwork"]]
    assert [r.id for r in patrol.list_reports(tag="сеть")] == [closed["сеть"]]


# The command line

def run_cli(config_file, *args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config_file), *args],
                            capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def workdir(tmp_path):
    config_file = tmp_path / "patroldesk.toml"
    config_file.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/pd.db"\n[paths]\nvar = "{tmp_path}/var"\n'
                           f'[support]\naddresses = ["{SUPPORT}"]\n')
    run_cli(config_file, "init")
    (tmp_path / "mail.eml").write_bytes(simple_mail(frm="ase@example.no", to=SUPPORT, subject="Skriveren",
                                                    body="Hei", message_id="cli@example.no"))
    run_cli(config_file, "ingest", str(tmp_path / "mail.eml"))
    return config_file


def test_close_from_the_command_line_refuses_a_weak_note_line_by_line(workdir):
    result = run_cli(workdir, "close", "10001", "--as", "admin", "--situation", "ferdig", "--behaviour",
                     "Checked the queue and restarted the spooler.", "--outcome", "Fixed.", check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "patroldesk: the note is refused; nothing was written:",
        "  situation: 'ferdig' says nothing a reviewer can learn from: write what the customer faced, "
        "in their context",
        "  outcome: 'Fixed.' says nothing a reviewer can learn from: write what came of it, and why",
        "  outcome_kind: one of resolved, workaround, not-resolved, escalated, duplicate, no-response",
    ]
    assert json.loads(run_cli(workdir, "tickets", "show", "10001", "--json").stdout)["status"] == "new"


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_close_reads_the_note_from_a_file_and_the_log_verifies(workdir, suffix):
    path = workdir.parent / f"note{suffix}"
    fields = {"situation": GOOD.situation, "behaviour": GOOD.behaviour, "outcome": GOOD.outcome,
              "outcome_kind": "workaround", "cause": GOOD.cause, "tags": ["printer"]}
    if suffix == ".json":
        path.write_text(json.dumps(fields, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text("\n".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in fields.items()),
                        encoding="utf-8")
    result = run_cli(workdir, "close", "#10001", "--as", "admin", "--file", str(path))
    first_line, *capture_lines = result.stdout.splitlines()
    assert first_line == "ticket #10001 solved; patrol report 1; the customer is told the outcome"
    assert capture_lines[0].startswith("draft article 1 written from ticket #10001")
    assert "state the problem as a customer meets it: patroldesk kb edit 1 --as admin --title" in result.stdout
    assert run_cli(workdir, "patrol", "verify").stdout.startswith("the patrol log verifies: 1 reports")
    [listed] = [json.loads(line) for line in run_cli(workdir, "patrol", "list", "--json").stdout.splitlines()]
    assert (listed["ticket"], listed["outcome_kind"], listed["tags"]) == (10001, "workaround", ["printer"])
    exported = run_cli(workdir, "patrol", "export", "--format", "csv").stdout.splitlines()
    assert exported[0].startswith("id,seq,ticket,kind") and exported[1].startswith("1,1,10001,closing")
    shown = run_cli(workdir, "patrol", "show", "1").stdout
    assert "Situation:\n  Åse could not print" in shown and "The customer was told:" in shown


def test_verify_fails_naming_the_entry_from_the_command_line(workdir):
    run_cli(workdir, "close", "10001", "--as", "admin", "--situation", GOOD.situation, "--behaviour",
            GOOD.behaviour, "--outcome", GOOD.outcome, "--kind", "resolved")
    import sqlite3
    connection = sqlite3.connect(workdir.parent / "pd.db")
    connection.execute("DROP TRIGGER patrol_report_no_update")
    connection.execute("UPDATE patrol_report SET situation = 'nothing happened'")
    connection.commit()
    connection.close()
    result = run_cli(workdir, "patrol", "verify", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == ("patroldesk: the chain breaks at report 1 (entry 1 of patrol_report): "
                                     "its content does not match its hash (it was changed after it was written)")


def test_a_chain_rewritten_without_the_key_does_not_verify(setup):
    config, agent, _ = setup
    report = patrol.close(config, open_ticket(config), GOOD, agent)
    _drop_guards()
    # Someone with the database but not the key recomputes the hash as a plain SHA-256.
    import hashlib
    changed = PatrolReport.get_by_id(report.id)
    changed.outcome = "We did nothing wrong."
    content = json.dumps({"forged": changed.outcome}).encode()
    database.execute_sql('UPDATE "patrol_report" SET "outcome" = ?, "hash" = ? WHERE "id" = ?'.replace(
        "?", database.param), (changed.outcome, hashlib.sha256(content).hexdigest(), report.id))
    [found] = patrol.verify(config).breaks
    assert found.row_id == report.id
    other_key = make_config(config.var_dir.parent / "elsewhere", support={"addresses": [SUPPORT]})
    assert not patrol.verify(other_key).ok  # another installation's key proves nothing here
