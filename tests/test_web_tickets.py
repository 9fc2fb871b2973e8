"""The agents' pages: queue, ticket, reply, note, assign, close with the SBO form, attachments, HTML mail.

Each test drives the real app through Flask's test client on a real database,
with tickets opened by real mail through the pipeline.
"""
from __future__ import annotations

import email
import email.policy
import re
from urllib.parse import quote

import pytest

from daemon.config import load_config
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.store import db
from daemon.store.models import Message, Outgoing, PatrolReport, ReplyTemplate, Ticket, User
from tests import corpus
from tests.conftest import make_config
from tests.corpus import simple_mail
from tests.webtools import make_console, post

SUPPORT = "support@example.org"
NOTE = {"situation": "Åse could not print from the third-floor printer after the update.",
        "behaviour": "Checked the queue, restarted the spooler, reinstalled the vendor's driver.",
        "outcome": "Printing works again: the update had replaced the driver with a generic one.",
        "outcome_kind": "resolved", "cause": "The update replaces vendor drivers", "tags": "printer, windows",
        "notify": "1", "status": "solved"}


@pytest.fixture
def setup(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, support={"addresses": [SUPPORT]})
    handle = db.open_database(config)
    db.upgrade()
    yield config, make_console(config)
    handle.close()


def mail_in(config, subject="Skriveren virker ikke", body="Hei, skriveren skriver ikke ut.", frm="Åse <ase@example.no>",
            message_id=None, raw: bytes | None = None) -> Ticket:
    spool.enqueue(raw or simple_mail(frm=frm, to=SUPPORT, subject=subject, body=body, message_id=message_id), "test")
    pipeline.drain(config)
    return Ticket.select().order_by(Ticket.id.desc()).get()


def page_text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def test_the_queue_lists_filters_and_searches(setup):
    config, console = setup
    printer = mail_in(config, subject="Принтер не печатает", body="Принтер на третьем этаже молчит.")
    vpn = mail_in(config, subject="VPN drops every hour", body="The tunnel to Oslo drops.", frm="bo@example.com")
    client = console.client("agent")
    page = page_text(client.get("/tickets"))
    assert "Принтер не печатает" in page and "VPN drops every hour" in page
    found = page_text(client.get("/tickets?q=принтер"))
    assert "Принтер не печатает" in found and "VPN drops" not in found
    assert "VPN drops" in page_text(client.get("/tickets?q=tunn*"))  # a prefix finds the word
    assert "VPN drops" not in page_text(client.get("/tickets?q=tunn"))  # words are whole by default
    assert "VPN drops" in page_text(client.get("/tickets?q=OSLO+drops"))
    assert "VPN drops" in page_text(client.get(f"/tickets?q=%23{vpn.number}"))
    assert "Принтер" in page_text(client.get("/tickets?q=ase@example.no"))
    assert "No tickets match" in page_text(client.get("/tickets?q=квант"))
    post(client, f"/tickets/{vpn.number}/assign", {"assignee": "agent"})
    mine = page_text(client.get("/tickets?assignee=me"))
    assert "VPN drops" in mine and "Принтер" not in mine
    assert "Принтер" in page_text(client.get("/tickets?assignee=none"))
    post(client, f"/tickets/{printer.number}/priority", {"priority": "urgent"})
    urgent = page_text(client.get("/tickets?priority=urgent"))
    assert "Принтер" in urgent and "VPN" not in urgent


def test_the_queue_sorts_by_sla_and_pages(setup):
    config, console = setup
    config = config.__class__(**{**config.__dict__, "web": config.web.__class__(**{**config.web.__dict__,
                                                                                   "page_size": 5})})
    console.app.config["PATROLDESK"] = config
    opened = [mail_in(config, subject=f"Ticket {n}") for n in range(7)]
    client = console.client("agent")
    post(client, f"/tickets/{opened[2].number}/priority", {"priority": "urgent"})
    post(client, f"/tickets/{opened[5].number}/reply", {"template": "reply", "body": "On it.", "action": "send"})
    first = client.get("/tickets?sort=sla").get_data(as_text=True)
    subjects = re.findall(r">(Ticket \d)</a>", first)
    # Urgent first (its first answer is due soonest), then by deadline, the answered one last.
    assert subjects == ["Ticket 2", "Ticket 0", "Ticket 1", "Ticket 3", "Ticket 4"]
    assert 'class="badge ok"' in first
    assert len(subjects) == 5 and 'rel="next"' in first
    second = re.findall(r">(Ticket \d)</a>", client.get("/tickets?sort=sla&page=2").get_data(as_text=True))
    assert second == ["Ticket 6", "Ticket 5"]
    assert re.findall(r">(Ticket \d)</a>", client.get("/tickets?sort=newest").get_data(as_text=True))[0] == "Ticket 6"
    assert client.get("/tickets?sort=sideways").status_code == 400


def test_the_ticket_page_shows_the_thread_with_quotes_folded(setup):
    config, console = setup
    ticket = mail_in(config, body="Still broken.\n\nOn Monday Bo wrote:\n> the printer is dead\n> help")
    page = console.client("agent").get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "Still broken." in page
    folded = page.split("<summary>Quoted history and signature</summary>", 1)
    assert len(folded) == 2 and "&gt; the printer is dead" in folded[1]
    assert "Åse" in page and "ase@example.no" in page


def test_a_templated_reply_is_previewed_then_queued(setup):
    config, console = setup
    ticket = mail_in(config)
    client = console.client("agent")
    preview = post(client, f"/tickets/{ticket.number}/reply", {"template": "reply", "body": "Prøv å starte på nytt.",
                                                              "action": "preview"})
    assert preview.status_code == 200
    shown = preview.get_data(as_text=True)
    assert 'id="preview"' in shown and "Prøv å starte på nytt." in shown
    assert not Outgoing.select().where(Outgoing.kind == "reply").exists()  # a preview sends nothing
    sent = post(client, f"/tickets/{ticket.number}/reply", {"template": "reply", "body": "Prøv å starte på nytt.",
                                                           "action": "send"})
    assert sent.status_code == 302
    row = Outgoing.get(Outgoing.kind == "reply")
    sent_mail = email.message_from_bytes(bytes(row.data), policy=email.policy.default)
    assert row.template == "reply" and "Prøv å starte på nytt." in sent_mail.get_body(("plain",)).get_content()
    assert sent_mail["To"].addresses[0].addr_spec == "ase@example.no"
    fresh = Ticket.get_by_id(ticket.id)
    assert fresh.status == "open" and fresh.first_response_at is not None


def test_an_unknown_template_is_refused_beside_the_field_with_the_words_kept(setup):
    config, console = setup
    ticket = mail_in(config)
    response = post(console.client("agent"), f"/tickets/{ticket.number}/reply",
                    {"template": "nonexistent", "body": "Mine ord", "action": "send"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="template-error"' in page and "Mine ord" in page
    assert not Outgoing.select().where(Outgoing.kind == "reply").exists()


def test_closing_without_sbo_shows_each_fields_message_and_keeps_the_text(setup):
    config, console = setup
    ticket = mail_in(config)
    response = post(console.client("agent"), f"/tickets/{ticket.number}/close",
                    {"situation": "", "behaviour": "Restarted the spooler twice.", "outcome": "", "outcome_kind": "",
                     "tags": "printer", "notify": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for name, message in (("situation", "missing: write what the customer faced"),
                          ("outcome", "missing: write what came of it"), ("outcome_kind", "one of resolved")):
        found = re.search(rf'<span class="error" id="{name}-error">([^<]*)</span>', page)
        assert found and message in found.group(1), name
    assert "Restarted the spooler twice." in page and 'value="printer"' in page
    assert Ticket.get_by_id(ticket.id).status == "new" and not PatrolReport.select().exists()


def test_closing_with_sbo_writes_the_report_and_drafts_an_article(setup):
    config, console = setup
    ticket = mail_in(config)
    client = console.client("agent")
    response = post(client, f"/tickets/{ticket.number}/close", NOTE)
    assert response.status_code == 302
    report = PatrolReport.get()
    assert report.author_id == console.people["agent"].id and report.outcome_kind == "resolved"
    assert Ticket.get_by_id(ticket.id).status == "solved"
    page = page_text(client.get(f"/tickets/{ticket.number}"))
    assert "Closed with patrol report" in page and "draft article" in page
    assert Outgoing.select().where(Outgoing.kind == "notice").count() == 1


def test_a_note_stays_inside_and_an_empty_one_is_refused(setup):
    config, console = setup
    ticket = mail_in(config)
    client = console.client("agent")
    assert post(client, f"/tickets/{ticket.number}/notes", {"text": "  "}).status_code == 400
    assert post(client, f"/tickets/{ticket.number}/notes", {"text": "Kunden ringte: haster."}).status_code == 302
    note = Message.get(Message.kind == "note")
    assert note.author_id == console.people["agent"].id
    assert "Kunden ringte: haster." in client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert not Outgoing.select().where(Outgoing.kind == "reply").exists()


def test_assigning_to_a_deactivated_agent_is_refused(setup):
    config, console = setup
    ticket = mail_in(config)
    User.update(active=False).where(User.username == "agent2").execute()
    client = console.client("agent")
    response = post(client, f"/tickets/{ticket.number}/assign", {"assignee": "agent2"})
    assert response.status_code == 302
    assert Ticket.get_by_id(ticket.id).assignee_id is None
    assert "agent2 is deactivated and takes no tickets" in client.get(f"/tickets/{ticket.number}").get_data(
        as_text=True)
    assert post(client, f"/tickets/{ticket.number}/assign", {"assignee": "agent"}).status_code == 302
    assert Ticket.get_by_id(ticket.id).assignee_id == console.people["agent"].id


def attached_mail(name: str, data: bytes, content_type: str = "application/pdf") -> bytes:
    text = corpus.leaf("text/plain; charset=utf-8", b"See attached.")
    part = corpus.leaf(f'{content_type}; name="{name}"', corpus.b64(data), "base64",
                       ("Content-Disposition", f'attachment; filename="{name}"'))
    return corpus.mail([("From", "bo@example.com"), ("To", SUPPORT), ("Subject", f"With {name}"),
                        ("MIME-Version", "1.0")], corpus.multipart("mixed", "b1", text, part))


def test_attachments_download_as_attachments_and_only_through_their_ticket(setup):
    config, console = setup
    first = mail_in(config, raw=attached_mail("page.html", b"<script>alert(1)</script>", "text/html"))
    second = mail_in(config, raw=attached_mail("report.pdf", b"%PDF-1.4 secret"))
    att_first = Message.get(Message.ticket == first.id).attachments.get()
    att_second = Message.get(Message.ticket == second.id).attachments.get()
    client = console.client("agent")
    response = client.get(f"/tickets/{first.number}/attachments/{att_first.id}")
    assert response.status_code == 200 and response.data == b"<script>alert(1)</script>"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.mimetype == "text/html" and response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    # Another ticket's attachment is not reachable through this ticket's address.
    assert client.get(f"/tickets/{first.number}/attachments/{att_second.id}").status_code == 404
    assert console.client().get(f"/tickets/{second.number}/attachments/{att_second.id}").status_code == 302


def test_html_mail_is_sanitised_and_framed_with_remote_images_blocked(setup):
    config, console = setup
    html = ('<p onclick="alert(1)">Hello <a href="javascript:alert(2)">x</a><img src="https://tracker.example/p.gif">'
            '<a href="/sign-in?next=/%09/evil.example">sign in</a><img src="/console-image.png">'
            '<a href="https:/admin/users">a</a><a href="HTTPS:admin">b</a><a href="&#x3000;https:/../admin">c</a>'
            '<a href="https:\\\\admin">d</a><img src="https:/static/x.png">'
            '<script>alert(3)</script><b style="color:red;behavior:url(x.htc)">bold</b></p>')
    raw = corpus.mail([("From", "bo@example.com"), ("To", SUPPORT), ("Subject", "HTML"), ("MIME-Version", "1.0")],
                      corpus.leaf("text/html; charset=utf-8", html.encode()))
    ticket = mail_in(config, raw=raw)
    message = Message.get(Message.ticket == ticket.id)
    client = console.client("agent")
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert f'/messages/{message.id}/html"' in page and 'sandbox="allow-popups' in page
    frame = client.get(f"/tickets/{ticket.number}/messages/{message.id}/html")
    body = frame.get_data(as_text=True)
    assert "<script" not in body and "onclick" not in body and "javascript:" not in body and "behavior" not in body
    assert "color:red" in body.replace(" ", "") and "https://tracker.example/p.gif" in body
    assert 'href="/sign-in' not in body and "/console-image.png" not in body  # nothing points into the console
    assert "admin" not in body and "static/x.png" not in body  # nor what a browser would read as relative
    policy = frame.headers["Content-Security-Policy"]
    assert "img-src data:;" in policy and "script-src" not in policy and "sandbox" in policy
    assert "https:" in client.get(f"/tickets/{ticket.number}/messages/{message.id}/html?images=1") \
        .headers["Content-Security-Policy"]
    other = mail_in(config)
    assert client.get(f"/tickets/{other.number}/messages/{message.id}/html").status_code == 404


def test_unknown_ticket_is_404(setup):
    _, console = setup
    assert console.client("agent").get("/tickets/999999").status_code == 404


def test_odd_addresses_are_answered_not_crashed_on(setup):
    config, console = setup
    mail_in(config)
    client = console.client("agent")
    for path, status in (("/tickets?page=²", 200), ("/tickets?page=99999999999999999999", 200),
                         ("/tickets?endpoint=x&_method=POST&_external=1&page=2", 200),
                         ("/tickets/99999999999999999999", 404), ("/tickets/10001/messages/99999999999999/html", 404),
                         ("/tickets/10001/attachments/99999999999999999", 404)) + tuple(
            (f"/tickets?q={quote(text)}", 200) for text in (
                "foo_bar", "snake_case_word*", "ǅemal", "a" * 500, "😀", "'\"", "NEAR(a b)", "a OR b", "-x",
                "^x", "*", "**", "x**", "é́", "١٢٣", "ⅻ", "\x00", "e-post mappe*", "#", "@", "a@b c@d")):
        assert client.get(path).status_code == status, path
    bad = post(client, "/tickets/10001/close", {**NOTE, "article": "²"})
    assert bad.status_code == 400 and "an article&#39;s number, or nothing" in bad.get_data(as_text=True)
    assert post(client, "/tickets/10001/priority", {"priority": "whenever"}).status_code == 302
    assert Ticket.get().priority == "normal"


def test_a_huge_message_is_stored_and_found_by_its_first_words(setup):
    """A pasted log far past what PostgreSQL's tsvector holds (1 MB) still goes in, and is found."""
    config, console = setup
    body = "needle in the log\n" + " ".join(f"w{n}x" for n in range(250_000))
    ticket = mail_in(config, subject="Huge log", body=body)
    assert Message.get(Message.ticket == ticket.id).body_text.startswith("needle")
    assert "Huge log" in page_text(console.client("agent").get("/tickets?q=needle"))


def test_the_configured_acknowledgement_is_not_offered_as_a_reply(tmp_path, database):
    config = make_config(tmp_path, autoreply={"acknowledgement_template": "welcome"})
    ReplyTemplate.create(name="welcome", subject="Welcome", text="We got it.")
    ReplyTemplate.create(name="printer-fix", subject="Printer", text="Reinstall the driver. {{ body }}")
    console = make_console(config)
    ticket = mail_in(config)
    client = console.client("agent")
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert '<option value="printer-fix"' in page and '<option value="welcome"' not in page
    refused = post(client, f"/tickets/{ticket.number}/reply", {"template": "welcome", "action": "send"})
    assert refused.status_code == 400 and not Outgoing.select().where(Outgoing.kind == "reply").exists()


def test_the_mails_own_images_are_inlined_in_its_frame(setup):
    config, console = setup
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360f8cfc00000030101001864f8b60000000049454e44ae426082")
    html = corpus.leaf("text/html; charset=utf-8", b'<p>Se bildet:</p><img src="cid:shot1@example.no">')
    image = corpus.leaf('image/png; name="shot.png"', corpus.b64(png), "base64",
                        ("Content-ID", "<shot1@example.no>"), ("Content-Disposition", 'inline; filename="shot.png"'))
    raw = corpus.mail([("From", "bo@example.com"), ("To", SUPPORT), ("Subject", "Skjermbilde"),
                       ("MIME-Version", "1.0")], corpus.multipart("related", "rel", html, image))
    ticket = mail_in(config, raw=raw)
    message = Message.get(Message.ticket == ticket.id)
    frame = console.client("agent").get(f"/tickets/{ticket.number}/messages/{message.id}/html").get_data(as_text=True)
    assert 'src="data:image/png;base64,' in frame and "cid:" not in frame


def test_an_attachment_downloads_from_a_relative_var_whatever_the_working_directory(tmp_path, monkeypatch):
    home = tmp_path / "desk"
    home.mkdir()
    (home / "patroldesk.toml").write_text('[database]\nurl = "sqlite:///var/desk.db"\n[paths]\nvar = "var"\n'
                                          f'[support]\naddresses = ["{SUPPORT}"]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(home / "patroldesk.toml", {})
    handle = db.open_database(config)
    try:
        db.upgrade()
        console = make_console(config)
        ticket = mail_in(config, raw=attached_mail("report.pdf", b"%PDF-1.4 the bytes"))
        att = Message.get(Message.ticket == ticket.id).attachments.get()
        response = console.client("agent").get(f"/tickets/{ticket.number}/attachments/{att.id}")
        assert response.status_code == 200 and response.data == b"%PDF-1.4 the bytes"
        assert (home / "var" / "attachments").is_dir() and not any(elsewhere.iterdir())
    finally:
        handle.close()


# Whose turn it is ------------------------------------------------------------

def customer_writes_back(config, ticket: Ticket, body: str = "Det virker fortsatt ikke.", automatic: bool = False):
    """The requester answers by the ticket's subject tag (an auto-responder, when `automatic`)."""
    extra = [("Auto-Submitted", "auto-replied")] if automatic else []
    subject = f"Re: [#{ticket.number}] {ticket.subject}"
    spool.enqueue(simple_mail(frm="Åse <ase@example.no>", to=SUPPORT, subject=subject, body=body, extra_headers=extra),
                  "test")
    pipeline.drain(config)


def queue_rows(client, path: str = "/tickets") -> list[tuple[str, str]]:
    """(subject, the row's text) of each ticket in the queue, in the order shown."""
    page = client.get(path).get_data(as_text=True)
    rows = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", page, re.S)
    return [(re.findall(r'#latest">([^<]+)</a>', row)[1], " ".join(re.sub("<[^>]+>", " ", row).split()))
            for row in rows]


def test_the_queue_puts_tickets_waiting_for_us_first_and_says_who_spoke_last(setup):
    config, console = setup
    quiet = mail_in(config, subject="Answered, customer quiet")
    replied = mail_in(config, subject="Answered, customer wrote back")
    reopened = mail_in(config, subject="Solved, customer wrote back")
    fresh = mail_in(config, subject="Nobody answered yet")
    client = console.client("agent")
    for ticket in (quiet, replied):
        post(client, f"/tickets/{ticket.number}/reply", {"template": "reply", "body": "Prøv nå.", "action": "send"})
    assert post(client, f"/tickets/{reopened.number}/close", NOTE).status_code == 302
    customer_writes_back(config, replied)
    customer_writes_back(config, reopened)
    assert Ticket.get_by_id(reopened.id).status == "open"

    rows = queue_rows(client)
    # Waiting for us first, longest waiting first; the ticket waiting for the customer after them.
    assert [subject for subject, _ in rows] == [fresh.subject, replied.subject, reopened.subject, quiet.subject]
    shown = dict(rows)
    for subject, speaker in ((fresh.subject, "customer"), (replied.subject, "customer"), (reopened.subject, "customer"),
                             (quiet.subject, "us")):
        assert re.search(rf"— {speaker} \S+ \S+ ago", shown[subject]), shown[subject]  # after the assignee column
    assert "answered" not in shown[replied.subject] and "sent" in shown[replied.subject]
    assert [s for s, _ in queue_rows(client, "/tickets?sort=waiting")] == [s for s, _ in rows]


def test_automatic_mail_is_nobodys_turn(setup):
    config, console = setup
    ticket = mail_in(config)
    client = console.client("agent")
    post(client, f"/tickets/{ticket.number}/reply", {"template": "reply", "body": "Prøv nå.", "action": "send"})
    client.get(f"/tickets/{ticket.number}")
    customer_writes_back(config, ticket, "I am away until Monday.", automatic=True)
    fresh = Ticket.get_by_id(ticket.id)
    assert fresh.last_speaker == "us" and fresh.last_inbound_at < fresh.waiting_since
    assert "unread" not in queue_rows(client)[0][1]


def test_customer_mail_is_unread_until_an_agent_opens_the_ticket(setup):
    config, console = setup
    ticket = mail_in(config)
    client = console.client("agent")
    assert "unread" in queue_rows(client)[0][1]
    first = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert first.count('class="badge unread">new</span>') == 1
    assert "unread" not in queue_rows(client)[0][1]
    assert 'class="badge unread"' not in client.get(f"/tickets/{ticket.number}").get_data(as_text=True)

    post(client, f"/tickets/{ticket.number}/reply", {"template": "reply", "body": "Prøv nå.", "action": "send"})
    assert "unread" not in queue_rows(client)[0][1]  # our own answer is no news to us
    customer_writes_back(config, ticket, "Fortsatt blanke sider.")
    assert "unread" in queue_rows(console.client("agent2"))[0][1]
    page = console.client("agent2").get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert page.count('class="badge unread">new</span>') == 1  # only the mail that came after the last look
    assert "unread" not in queue_rows(client)[0][1]  # read by one agent is read for the team


def test_the_ticket_page_opens_at_the_newest_message_and_folds_automatic_mail(setup):
    config, console = setup
    ticket = mail_in(config)
    client = console.client("agent")
    post(client, f"/tickets/{ticket.number}/reply", {"template": "reply", "body": "Prøv nå.", "action": "send"})
    customer_writes_back(config, ticket, "I am away until Monday.", automatic=True)
    customer_writes_back(config, ticket, "Back again: it still prints blank pages.")
    assert f'href="/tickets/{ticket.number}#latest"' in client.get("/tickets").get_data(as_text=True)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    newest = Message.select().where(Message.ticket == ticket.id).order_by(Message.id.desc()).get()
    assert page.count('id="latest"') == 1
    assert re.search(rf'<span id="latest" class="anchor"></span>\s*<article class="card message inbound" '
                     rf'id="m{newest.id}">', page)
    automatic = list(Message.select().where((Message.ticket == ticket.id) & Message.automatic.is_null(False)))
    assert any(m.kind == "inbound" for m in automatic)
    for message in automatic:  # acknowledgements and the out-of-office reply: one line each, opened on demand
        folded = re.search(rf'<details class="card message automatic {message.kind}" id="m{message.id}">\s*'
                           r'<summary>(.*?)</summary>', page, re.S)
        assert folded and "\n" not in " ".join(folded.group(1).split()), message.kind
    assert re.search(r"<summary>Automatic mail from Åse:\s+Re: \[#\d+\]", page)
    assert {m.kind for m in automatic} == {"inbound", "outbound"}, "the acknowledgement is there too"
    people = list(Message.select().where((Message.ticket == ticket.id) & Message.automatic.is_null()))
    for message in people:
        assert f'<article class="card message {message.kind}" id="m{message.id}">' in page


def test_a_taken_form_tells_the_next_page_to_drop_its_draft_and_a_refused_one_does_not(setup):
    config, console = setup
    ticket = mail_in(config)
    client = console.client("agent")
    refused = post(client, f"/tickets/{ticket.number}/close", {"behaviour": "Restarted it."})
    assert refused.status_code == 400 and 'data-drafts-sent=""' in refused.get_data(as_text=True)
    assert f'data-draft="{ticket.number}/close"' in refused.get_data(as_text=True)
    post(client, f"/tickets/{ticket.number}/notes", {"text": "Called her."})
    assert f'data-drafts-sent="{ticket.number}/note "' in client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'data-drafts-sent=""' in client.get(f"/tickets/{ticket.number}").get_data(as_text=True)  # said once
    sent = post(client, f"/tickets/{ticket.number}/reply", {"template": "reply", "body": "Prøv nå.", "action": "send"})
    assert sent.headers["Location"].endswith(f"/tickets/{ticket.number}#latest")
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert f'data-drafts-sent="{ticket.number}/reply "' in page


def test_the_page_opens_at_the_newest_mail_a_person_wrote_not_at_automatic_mail_after_it(setup):
    config, console = setup
    ticket = mail_in(config)
    customer_writes_back(config, ticket, "Still blank pages, and now it jams too.")
    customer_writes_back(config, ticket, "I am away until Monday.", automatic=True)
    written = (Message.select().where((Message.ticket == ticket.id) & Message.automatic.is_null())
               .order_by(Message.id.desc()).get())
    last = Message.select().where(Message.ticket == ticket.id).order_by(Message.id.desc()).get()
    assert last.automatic and written.id < last.id
    page = console.client("agent").get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert page.count('id="latest"') == 1
    assert re.search(rf'<span id="latest" class="anchor"></span>\s*<article class="card message inbound" '
                     rf'id="m{written.id}">', page), "the page must open at the customer's own words"


# Closing asks about articles alike enough; a link can be taken back -----------------------

def asking_tickets(config, agent):
    """Corpus tickets whose close would ask about articles: each problem's first ticket drafts its
    article, and the others that land between match_percent and link_percent are handed out."""
    from daemon import knowledge
    from daemon.patrol import logbook as patrol
    from tests import kb_corpus
    from tests.test_knowledge import note_of
    drafted: dict[str, int] = {}
    for item in kb_corpus.TICKETS:
        ticket = mail_in(config, subject=item.subject, body=item.body,
                         frm=f"{item.customer_name} <{item.customer_email}>")
        if item.problem not in drafted:
            drafted[item.problem] = patrol.close(config, ticket, note_of(item), agent, new_article=True,
                                                 notify=False).capture.article.id
        elif (found := knowledge.matches_for_close(config, ticket, note_of(item))) is not None and found.ask:
            yield ticket, item, drafted[item.problem]


def note_form(item) -> dict:
    return {"situation": item.situation, "behaviour": item.behaviour, "outcome": item.outcome,
            "outcome_kind": item.outcome_kind, "cause": item.cause, "tags": ", ".join(item.tags), "status": "solved"}


def test_closing_asks_about_articles_alike_enough_and_the_agent_confirms_or_declines(setup):
    from daemon.store.models import Article, ArticleLink
    config, console = setup
    client = console.client("agent")
    found = asking_tickets(config, console.people["agent"])
    ticket, item, right = next(found)
    asked = post(client, f"/tickets/{ticket.number}/close", note_form(item))
    page = page_text(asked)
    assert asked.status_code == 400 and "Was it one of these articles?" in page
    assert f'name="choice" value="{right}"' in page and 'name="choice" value="new"' in page and "% alike" in page
    assert item.situation in page  # the note comes back whole
    assert Ticket.get_by_id(ticket.id).status not in ("solved", "closed") and not ArticleLink.select().where(
        ArticleLink.ticket == ticket.id).exists()
    confirmed = post(client, f"/tickets/{ticket.number}/close", {**note_form(item), "choice": str(right)})
    assert confirmed.status_code == 302
    link = ArticleLink.get(ArticleLink.ticket == ticket.id)
    assert (link.article_id, link.kind) == (right, "reused")
    shown = page_text(client.get(f"/tickets/{ticket.number}"))
    assert "unlink" in shown
    assert post(client, f"/tickets/{ticket.number}/links/{right}/unlink", {}).status_code == 302
    assert not ArticleLink.select().where(ArticleLink.ticket == ticket.id).exists()
    assert "is no longer linked to article" in page_text(client.get(f"/tickets/{ticket.number}"))
    other, other_item, _ = next(found)
    articles = Article.select().count()
    declined = post(client, f"/tickets/{other.number}/close", {**note_form(other_item), "choice": "new"})
    assert declined.status_code == 302 and Article.select().count() == articles + 1
    assert ArticleLink.get(ArticleLink.ticket == other.id).kind == "created"


def test_close_on_the_command_line_lists_the_articles_it_asks_about_and_writes_nothing(setup, tmp_path):
    import subprocess
    import sys
    from daemon.store.models import ArticleLink
    config, console = setup
    ticket, item, right = next(asking_tickets(config, console.people["agent"]))
    path = tmp_path / "patroldesk.toml"
    path.write_text(f'[database]\nurl = "{config.database.url}"\n[paths]\nvar = "{config.var_dir}"\n'
                    f'[support]\naddresses = ["{SUPPORT}"]\n')
    close = [sys.executable, "-m", "daemon", "--config", str(path), "close", str(ticket.number),
             "--situation", item.situation, "--behaviour", item.behaviour, "--outcome", item.outcome,
             "--kind", item.outcome_kind, "--cause", item.cause, "--tags", ", ".join(item.tags), "--as", "agent",
             "--no-notice"]
    asked = subprocess.run(close, capture_output=True, text=True, timeout=60)
    assert asked.returncode == 1 and "nothing was written" in asked.stderr and "--new-article" in asked.stderr
    assert f"  {right} " in asked.stderr and "% alike" in asked.stderr
    assert not ArticleLink.select().where(ArticleLink.ticket == ticket.id).exists()
    done = subprocess.run(close + ["--new-article"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ArticleLink.get(ArticleLink.ticket == ticket.id).kind == "created"
