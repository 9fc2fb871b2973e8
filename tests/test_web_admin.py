"""The admin pages and the spool's quarantine, through Flask's test client on a real database.

Mail reaches the quarantine the way it does in production: spooled bytes
that the pipeline cannot process (an impossible sender address, or an attachment folder that
cannot be written).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re

import pytest

from daemon.config import MailboxConfig
from daemon.ingest import pipeline, requeue
from daemon.ingest.sources import spool
from daemon.store import db
from daemon.store.models import (
    Article, ArticleVariant, Inbound, MailboxState, Outgoing, Policy, PolicyFiring, ReplyTemplate, Ticket, User, utcnow,
)
from tests import webtools
from tests.conftest import make_config
from tests.corpus import simple_mail

# A sender address no real mail has (over 320 characters): the pipeline refuses it to quarantine.
NO_SENDER = b"From: " + b"a" * 400 + b"@example.org\r\nTo: support@localhost\r\nSubject: anonymous\r\n\r\nwho am I\r\n"
WITH_ATTACHMENT = (
    b"From: ola@example.no\r\nTo: support@localhost\r\nSubject: Vedlegg\r\n"
    b"Message-ID: <att@example.no>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee file\r\n"
    b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=f.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n")
SIGNED_IN_PAGE = "/password"  # any signed-in person may see it: 200 while a session works, else to sign-in


@pytest.fixture
def console(console_on):
    """Every admin test runs on SQLite and on PostgreSQL."""
    return console_on


@pytest.fixture
def sqlite_console(tmp_path):
    config = make_config(tmp_path)
    handle = db.open_database(config)
    db.upgrade()
    yield webtools.make_console(config)
    handle.close()


def quarantined(config, raw: bytes = NO_SENDER) -> Inbound:
    row = spool.enqueue(raw, "cli", {"file": "test.eml"})
    result = requeue.process_now(config, row.id)
    assert result.outcome == "quarantined", result
    return Inbound.get_by_id(row.id)


def ticket_from_mail(config, subject: str = "Printer on fire") -> Ticket:
    spool.enqueue(simple_mail(frm="Ola <ola@example.no>", to="support@localhost", subject=subject,
                              body="It smokes.", message_id=f"{subject.replace(' ', '-')}@example.no"), "cli")
    [result] = pipeline.drain(config)
    assert result.outcome == "created", result
    return Ticket.by_number(result.ticket)


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def error_of(response, field: str) -> str:
    """The message shown beside `field` (the macros give it the id FIELD-error)."""
    found = re.search(rf'id="{field}-error">(.*?)</(?:span|pre)>', response.get_data(as_text=True), re.S)
    assert found, f"no message beside {field}"
    return html.unescape(found.group(1))


# Who may see the pages ---------------------------------------------------------------------

def every_page(console) -> list[str]:
    config = console.app.config["PATROLDESK"]
    row = quarantined(config)
    ticket = ticket_from_mail(config)
    ReplyTemplate.create(name="welcome", subject="Hi", text="Hello {{ customer.name }}")
    rule = Policy.create(name="vip", condition="customer.plan == 'gold'", action="escalate")
    person = console.people["agent"]
    return ["/admin/", "/admin/users", "/admin/users/new", f"/admin/users/{person.id}", "/admin/templates",
            "/admin/templates/new", "/admin/templates/welcome", "/admin/templates/acknowledgement",
            "/admin/policies", "/admin/policies/new", f"/admin/policies/{rule.id}",
            f"/admin/policies/try?ticket={ticket.number}", "/spool/", "/spool/?state=discarded",
            f"/spool/{row.id}", f"/spool/{row.id}/raw"]


def test_every_page_is_for_admins_only(sqlite_console):
    pages = every_page(sqlite_console)
    admin, agent, reviewer = (sqlite_console.client(name) for name in ("admin", "agent", "reviewer"))
    anonymous = sqlite_console.client()
    for path in pages:
        assert admin.get(path).status_code == 200, path
        assert agent.get(path).status_code == 403, path
        assert reviewer.get(path).status_code == 403, path
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in"), path


def snapshot() -> tuple:
    """Everything the admin forms could change."""
    return (list(User.select(User.username, User.role, User.active, User.session_version, User.password_hash)
                 .order_by(User.id).tuples()),
            list(ReplyTemplate.select(ReplyTemplate.name, ReplyTemplate.revision, ReplyTemplate.needs_review).tuples()),
            list(Policy.select(Policy.name, Policy.condition, Policy.enabled).tuples()),
            list(Inbound.select(Inbound.id, Inbound.state).order_by(Inbound.id).tuples()))


def test_no_form_changes_anything_without_its_csrf_token(sqlite_console):
    every_page(sqlite_console)
    agent = sqlite_console.people["agent"]
    row = Inbound.get(Inbound.state == "quarantined")
    stale = ReplyTemplate.create(name="stale", subject="s", text="t", needs_review=True)
    rule = Policy.get(Policy.name == "vip")
    posts = {
        "/admin/users/new": {"username": "newbie", "role": "agent", "password": "long enough password"},
        f"/admin/users/{agent.id}/role": {"role": "admin"},
        f"/admin/users/{agent.id}/active": {"active": "0"},
        f"/admin/users/{agent.id}/password": {},
        "/admin/templates/new": {"name": "fresh", "subject": "s", "text": "t"},
        "/admin/templates/welcome": {"subject": "changed", "text": "changed"},
        f"/admin/templates/{stale.name}/reviewed": {},
        "/admin/policies/new": {"name": "new-rule", "condition": "ticket.number > 1", "action": "escalate"},
        f"/admin/policies/{rule.id}": {"condition": "ticket.number > 1", "action": "escalate"},
        f"/admin/policies/{rule.id}/enabled": {"enabled": "0"},
        f"/spool/{row.id}/requeue": {},
    }
    admin = sqlite_console.client("admin")
    before = snapshot()
    for path, data in posts.items():
        response = admin.post(path, data=data)
        assert response.status_code == 400, path
        assert "Form expired" in page(response), path
        assert snapshot() == before, path


# The overview ------------------------------------------------------------------------------

def test_the_overview_shows_each_mailbox_with_its_error_and_the_outbox(sqlite_console):
    config = dataclasses.replace(sqlite_console.app.config["PATROLDESK"], mailbox=(
        MailboxConfig(name="main", host="imap.example.com", user="u", password="p", idle=True),
        MailboxConfig(name="backup", host="imap.example.com", user="b", password="p")))
    sqlite_console.app.config["PATROLDESK"] = config
    now = utcnow()
    MailboxState.create(name="main", status="ok", idle=True, updated_at=now - dt.timedelta(seconds=30))
    MailboxState.create(name="backup", status="failing", updated_at=now, failing_since=now - dt.timedelta(hours=1),
                        last_error="login as 'b' refused")
    ticket = ticket_from_mail(config)
    Outgoing.delete().execute()  # its acknowledgement: only the mails below are in the outbox
    for state, error in (("queued", ""), ("sending", ""), ("failed", "550 5.1.1 no such mailbox"),
                         ("bounced", "delivery failure report"), ("uncertain", "possibly sent: its sender stopped")):
        Outgoing.create(ticket=ticket, kind="reply", mail_from="support@localhost", recipients="[]",
                        message_id=f"{state}@localhost", subject=f"mail {state}", data=b"", state=state,
                        last_error=error)
    text = " ".join(page(sqlite_console.client("admin").get("/admin/")).split())
    assert re.search(r"<td>main<br>.*?</td> <td class=\"\">ok</td> <td>yes</td> <td>3\d sec\. ago</td>", text)
    assert re.search(r"<td>backup<br>.*?</td> <td class=\"error\">failing</td> <td>no</td> <td>\d sec\. ago</td> "
                     r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>", text)
    assert "login as 'b' refused" in text  # an admin may read why
    assert '<th>Waiting to be sent</th><td class="num">2</td>' in text
    assert "550 5.1.1 no such mailbox" in text and "delivery failure report" in text
    assert '<th>Possibly sent</th><td class="num error">1</td>' in text and "its sender stopped" in text


# Users -------------------------------------------------------------------------------------

def shown_password(response) -> str:
    found = re.search(r"shown this once: <code>([^<]+)</code>", response.get_data(as_text=True))
    assert found, "no password on the page"
    return html.unescape(found.group(1))


def test_a_new_user_signs_in_with_the_password_shown_once(console):
    admin = console.client("admin")
    response = webtools.post(admin, "/admin/users/new", {"username": "siri", "role": "reviewer", "name": "Siri Dahl",
                                                         "email": "siri@support.example"})
    assert response.status_code == 200
    password = shown_password(response)
    user = User.get(User.username == "siri")
    assert (user.role, user.name, user.email, user.active) == ("reviewer", "Siri Dahl", "siri@support.example", True)
    assert password not in page(admin.get(f"/admin/users/{user.id}"))  # once means once
    newcomer = console.app.test_client()
    webtools.sign_in(newcomer, "siri", password)
    assert newcomer.get("/admin/").status_code == 403  # signed in, as a reviewer
    assert newcomer.get(SIGNED_IN_PAGE).status_code == 200


def test_a_typed_password_is_used_and_not_shown(console):
    admin = console.client("admin")
    response = webtools.post(admin, "/admin/users/new", {"username": "tor", "role": "agent",
                                                         "password": "tor's own long password"})
    assert response.status_code == 200
    assert "tor's own long password" not in page(response) and "the password you typed" in page(response)
    webtools.sign_in(console.app.test_client(), "tor", "tor's own long password")


def test_a_refused_user_keeps_what_was_typed_with_the_reason_beside_the_field(console):
    admin = console.client("admin")
    response = webtools.post(admin, "/admin/users/new", {"username": "agent", "role": "reviewer",
                                                         "name": "Another Agent", "email": "other@support.example"})
    assert response.status_code == 400
    assert error_of(response, "username") == "the username 'agent' is taken"
    text = page(response)
    assert 'value="Another Agent"' in text and 'value="other@support.example"' in text
    assert '<option value="reviewer" selected>' in text
    short = webtools.post(admin, "/admin/users/new", {"username": "kari", "role": "agent", "password": "short"})
    assert short.status_code == 400 and "at least 10 characters" in error_of(short, "password")
    bad_mail = webtools.post(admin, "/admin/users/new", {"username": "kari", "role": "agent", "email": "kari"})
    assert bad_mail.status_code == 400 and "e-mail address" in error_of(bad_mail, "email")
    assert not User.select().where(User.username == "kari").exists()


def test_a_deactivated_users_open_session_stops_working(console):
    agent = console.client("agent")
    assert agent.get(SIGNED_IN_PAGE).status_code == 200
    admin = console.client("admin")
    person = console.people["agent"]
    response = webtools.post(admin, f"/admin/users/{person.id}/active", {"active": "0"})
    assert response.status_code == 302
    assert "deactivated and signed out" in page(admin.get(response.headers["Location"]))
    refused = agent.get(SIGNED_IN_PAGE)
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/sign-in")
    retry = console.app.test_client()
    answer = retry.post("/sign-in", data={"username": "agent", "password": webtools.PASSWORD,
                                          "csrf_token": webtools.token(retry)})
    assert answer.status_code == 401
    webtools.post(admin, f"/admin/users/{person.id}/active", {"active": "1"})
    webtools.sign_in(console.app.test_client(), "agent")


def test_a_new_role_ends_the_users_sessions(console):
    agent = console.client("agent")
    admin = console.client("admin")
    person = console.people["agent"]
    response = webtools.post(admin, f"/admin/users/{person.id}/role", {"role": "reviewer"})
    assert response.status_code == 302
    assert User.get_by_id(person.id).role == "reviewer"
    assert agent.get(SIGNED_IN_PAGE).status_code == 302  # the old cookie is dead
    again = console.client("agent")
    assert again.get(SIGNED_IN_PAGE).status_code == 200


def test_an_admin_can_neither_demote_nor_deactivate_themselves(console):
    admin = console.client("admin")
    me = console.people["admin"]
    demoted = webtools.post(admin, f"/admin/users/{me.id}/role", {"role": "agent"})
    assert demoted.status_code == 400
    assert error_of(demoted, "role") == "you cannot demote yourself; another admin can"
    stopped = webtools.post(admin, f"/admin/users/{me.id}/active", {"active": "0"})
    assert stopped.status_code == 400
    assert error_of(stopped, "active") == "you cannot deactivate yourself; another admin can"
    after = User.get_by_id(me.id)
    assert (after.role, after.active, after.session_version) == ("admin", True, me.session_version)
    assert admin.get("/admin/").status_code == 200


def test_a_password_reset_shows_a_new_one_and_ends_the_sessions(console):
    agent = console.client("agent")
    admin = console.client("admin")
    person = console.people["agent"]
    response = webtools.post(admin, f"/admin/users/{person.id}/password", {})
    assert response.status_code == 200
    password = shown_password(response)
    assert agent.get(SIGNED_IN_PAGE).status_code == 302
    fresh = console.app.test_client()
    old = fresh.post("/sign-in", data={"username": "agent", "password": webtools.PASSWORD,
                                       "csrf_token": webtools.token(fresh)})
    assert old.status_code == 401
    webtools.sign_in(console.app.test_client(), "agent", password)
    own = webtools.post(admin, f"/admin/users/{console.people['admin'].id}/password", {})
    assert own.status_code == 400 and "password page" in error_of(own, "password")


# Reply templates ---------------------------------------------------------------------------

def test_the_template_list_has_built_ins_and_the_teams_own(console):
    ReplyTemplate.create(name="welcome", subject="Hi", text="Hello", revision=3, needs_review=True)
    text = page(console.client("admin").get("/admin/templates"))
    assert "acknowledgement" in text and "solved" in text and ".txt.j2" not in text
    assert re.search(r'welcome</a>\s*</td>\s*<td class="num">3</td>', text)


def test_a_template_with_an_unknown_variable_is_refused_beside_its_field(console):
    admin = console.client("admin")
    typed = {"name": "greeting", "subject": "Hello {{ ticket.reference }}",
             "text": "Hei {{ customer.name }},\n\nthanks, {{ custmer.email }}\n", "html": ""}
    response = webtools.post(admin, "/admin/templates/new", typed)
    assert response.status_code == 400
    assert error_of(response, "text") == "line 3: 'custmer' is undefined"
    assert "thanks, {{ custmer.email }}" in page(response)  # what was typed is kept
    assert 'value="greeting"' in page(response)
    assert not ReplyTemplate.select().where(ReplyTemplate.name == "greeting").exists()
    subject = webtools.post(admin, "/admin/templates/new", dict(typed, subject="{{ ticket.__class__ }}",
                                                                 text="fine"))
    assert subject.status_code == 400 and "Python's internals" in error_of(subject, "subject")


def test_a_saved_template_is_previewed_on_the_sample_ticket(console):
    admin = console.client("admin")
    response = webtools.post(admin, "/admin/templates/new", {
        "name": "greeting", "subject": "About {{ ticket.subject }}", "text": "Hei {{ customer.name }}!\n",
        "html": "<p>Hei {{ customer.name }}</p>"})
    assert response.status_code == 302
    saved = ReplyTemplate.get(ReplyTemplate.name == "greeting")
    assert (saved.revision, saved.html, saved.updated_by_id) == (1, "<p>Hei {{ customer.name }}</p>",
                                                                console.people["admin"].id)
    edit = page(admin.get(response.headers["Location"]))
    assert "Hei Åse Ødegård!" in edit and "About Не печатает принтер" in edit
    assert "<p>Hei Åse Ødegård</p>" in edit  # the HTML part shown as source, escaped
    again = webtools.post(admin, "/admin/templates/greeting", {"subject": "Re: {{ ticket.subject }}",
                                                                "text": "Changed\n", "html": ""})
    assert again.status_code == 302
    saved = ReplyTemplate.get(ReplyTemplate.name == "greeting")
    assert (saved.revision, saved.text, saved.html) == (2, "Changed\n", None)


def test_a_built_in_opens_with_its_own_text_and_saving_it_makes_the_teams_version(console):
    admin = console.client("admin")
    text = page(admin.get("/admin/templates/acknowledgement"))
    assert "built-in template" in text and "{{ ticket.reference }}" in text
    taken = webtools.post(admin, "/admin/templates/new", {"name": "welcome", "subject": "s", "text": "t"})
    assert taken.status_code == 302
    twice = webtools.post(admin, "/admin/templates/new", {"name": "welcome", "subject": "s2", "text": "t2"})
    assert twice.status_code == 400 and "edit it instead" in error_of(twice, "name")
    assert ReplyTemplate.get(ReplyTemplate.name == "welcome").subject == "s"
    assert admin.get("/admin/templates/no-such-thing").status_code == 404


def test_a_template_whose_article_changed_is_marked_reviewed(console):
    article = Article.create(state="validated", revision=3)
    ArticleVariant.create(article=article.id, language="en", title="Printer", resolution="Replace the fuser.",
                          state="validated")
    stale = ReplyTemplate.create(name="kb-1", language="en", subject="s", text="t", article=article.id,
                                 article_revision=2, needs_review=True)
    admin = console.client("admin")
    listed = page(admin.get("/admin/templates"))
    assert "To review" in listed and "kb-1" in listed
    response = webtools.post(admin, f"/admin/templates/{stale.name}/reviewed", {"back": "list"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/templates"
    stale = ReplyTemplate.get_by_id(stale.id)
    assert (stale.needs_review, stale.article_revision) == (False, 3)
    assert "To review" not in page(admin.get("/admin/templates"))


# Policies ----------------------------------------------------------------------------------

def test_a_refused_policy_keeps_what_was_typed_with_the_reason_beside_the_field(console):
    admin = console.client("admin")
    typed = {"name": "big-spenders", "condition": "customer.monthly_spend >= 10000 and open(1)",
             "action": "escalate", "description": "they pay for speed"}
    response = webtools.post(admin, "/admin/policies/new", typed)
    assert response.status_code == 400
    message = error_of(response, "condition")
    assert message.startswith("condition, column 37: call is not part of the condition language")
    assert "^" in message
    text = page(response)
    assert "customer.monthly_spend >= 10000 and open(1)</textarea>" in text and "they pay for speed" in text
    action = webtools.post(admin, "/admin/policies/new", dict(typed, condition="ticket.number > 1",
                                                              action="explode"))
    assert action.status_code == 400 and error_of(action, "action").startswith("action 'explode': one of")
    assert Policy.select().count() == 0


def test_a_policy_is_written_switched_off_and_on_and_tried_on_a_ticket(console):
    config = console.app.config["PATROLDESK"]
    admin = console.client("admin")
    response = webtools.post(admin, "/admin/policies/new", {
        "name": "printers", "condition": "'printer' in ticket.subject", "action": "priority:high",
        "description": "printers stop whole floors"})
    assert response.status_code == 302
    rule = Policy.get(Policy.name == "printers")
    assert (rule.action, rule.enabled, rule.created_by_id) == ("priority:high", True, console.people["admin"].id)
    ticket = ticket_from_mail(config, "Printer on fire")
    assert Ticket.get_by_id(ticket.id).priority == "high"  # it acted when the mail came in
    assert re.search(r'<td class="num">1</td>', page(admin.get("/admin/policies")))  # one firing

    tried = page(admin.get(f"/admin/policies/try?ticket={ticket.number}"))
    assert "hold: priority high" in tried and '"contact_count": 1' in tried
    assert PolicyFiring.select().count() == 1  # a dry run changes nothing

    off = webtools.post(admin, f"/admin/policies/{rule.id}/enabled", {"enabled": "0"})
    assert off.status_code == 302 and not Policy.get_by_id(rule.id).enabled
    assert "No policy is enabled" in page(admin.get(f"/admin/policies/try?ticket={ticket.number}"))
    webtools.post(admin, f"/admin/policies/{rule.id}/enabled", {"enabled": "1"})
    assert Policy.get_by_id(rule.id).enabled

    edited = webtools.post(admin, f"/admin/policies/{rule.id}", {"condition": "ticket.contact_count >= 3",
                                                                 "action": "escalate", "description": ""})
    assert edited.status_code == 302
    assert (Policy.get_by_id(rule.id).condition, Policy.get_by_id(rule.id).action) == (
        "ticket.contact_count >= 3", "escalate")
    unknown = admin.get("/admin/policies/try?ticket=424242")
    assert unknown.status_code == 400 and error_of(unknown, "ticket") == "no ticket #424242"


# The spool ---------------------------------------------------------------------------------

def test_the_quarantine_lists_each_mail_with_its_reason_and_shows_its_traceback(console):
    config = console.app.config["PATROLDESK"]
    row = quarantined(config)
    config.attachments_dir.parent.mkdir(parents=True, exist_ok=True)
    config.attachments_dir.write_text("a file where the attachment folder should be")
    crashed = quarantined(config, WITH_ATTACHMENT)
    admin = console.client("admin")
    listing = page(admin.get("/spool/"))
    assert f'/spool/{row.id}">{row.id}</a>' in listing and row.reason in listing
    assert f'/spool/{crashed.id}">{crashed.id}</a>' in listing
    shown = page(admin.get(f"/spool/{crashed.id}"))
    assert crashed.reason in shown and "Traceback (most recent call last)" in shown
    assert "test.eml" in shown  # where it came from


def test_the_raw_mail_is_a_download_never_shown_inline(console):
    config = console.app.config["PATROLDESK"]
    row = quarantined(config)
    response = console.client("admin").get(f"/spool/{row.id}/raw")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == f'attachment; filename="spool-{row.id}.eml"'
    assert response.get_data() == NO_SENDER
    assert console.client("admin").get("/spool/999999/raw").status_code == 404


def test_a_requeued_mail_goes_through_the_pipeline_once_its_cause_is_fixed(console):
    config = console.app.config["PATROLDESK"]
    config.attachments_dir.parent.mkdir(parents=True, exist_ok=True)
    config.attachments_dir.write_text("a file where the attachment folder should be")
    row = quarantined(config, WITH_ATTACHMENT)
    admin = console.client("admin")

    failing = webtools.post(admin, f"/spool/{row.id}/requeue", {})  # the cause is still there
    assert failing.status_code == 302
    assert f"Spool {row.id}: quarantined" in page(admin.get(failing.headers["Location"]))
    assert Inbound.get_by_id(row.id).state == "quarantined"

    config.attachments_dir.unlink()
    response = webtools.post(admin, f"/spool/{row.id}/requeue", {})
    assert response.status_code == 302 and response.headers["Location"] == f"/spool/{row.id}"
    said = re.search(rf"Spool {row.id}: created #(\d+)\.", page(admin.get(response.headers["Location"])))
    assert said, "no word of the new ticket"
    done = Inbound.get_by_id(row.id)
    assert (done.state, done.outcome) == ("done", "created")
    # PostgreSQL's sequence skips the numbers of the attempts that were rolled back: read the one it said.
    assert Ticket.by_number(int(said.group(1))).subject == "Vedlegg"
    assert "Nothing is in quarantine" in page(admin.get("/spool/"))

    again = webtools.post(admin, f"/spool/{row.id}/requeue", {})
    assert "not in quarantine or ignored" in page(admin.get(again.headers["Location"]))
    assert Ticket.select().count() == 1
