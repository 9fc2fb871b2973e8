"""The customer's language: detected on their mail, kept on the customer, set by a person, and the mail we
send them written in it (built-in templates, team template variants, dates and numbers)."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import smtplib

import pytest
from babel.dates import format_date
from peewee import IntegrityError

from daemon import tickets
from daemon.config import load_config
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.outbound import replies
from daemon.store import db
from daemon.store.models import AuditEvent, Customer, Message, Outgoing, ReplyTemplate, Ticket, User
from daemon.tickets import search as ticket_search
from tests.conftest import make_config, running_service, wait_for
from tests.corpus import simple_mail


def test_the_upgrade_to_0014_keeps_customers_templates_and_mail(tmp_path, backend_url):
    handle = db.open_database(make_config(tmp_path, backend_url))
    db.migration_runner().up(target="0013_sign_in_throttle")
    p = "%s" if not db.is_sqlite(handle) else "?"
    handle.execute_sql(f'INSERT INTO customer (email, name, created_at, attributes) VALUES ({p}, {p}, {p}, {p})',
                       ("ola@example.no", "Ola Nordmann", "2026-01-02 03:04:05", '{"plan": "gold"}'))
    handle.execute_sql(f'INSERT INTO reply_template (name, subject, text, html, created_at, updated_at, revision, '
                       f'needs_review) VALUES ({p}, {p}, {p}, NULL, {p}, {p}, 3, {p})',
                       ("printer", "Re: {{ ticket.subject }}", "Slå av og på.", "2026-01-02 03:04:05",
                        "2026-01-02 03:04:05", False))
    customer_id = Customer.select(Customer.id).scalar()
    handle.execute_sql(f'INSERT INTO ticket (number, subject, requester_id, status, priority, support_address, '
                       f'created_at, updated_at, escalated, group_name, last_speaker) VALUES ({p}, {p}, {p}, {p}, '
                       f'{p}, {p}, {p}, {p}, {p}, {p}, {p})', (10001, "Skriveren", customer_id, "open", "normal",
                                                               "s@x", "2026-01-02 03:04:05", "2026-01-02 03:04:05",
                                                               False, "", "customer"))
    ticket = Ticket.select(Ticket.id).scalar()
    handle.execute_sql(f'INSERT INTO message (ticket_id, kind, in_reply_to, refs, sender_address, sender_name, '
                       f'to_addrs, cc_addrs, subject, created_at, body_text, body_visible, notes) VALUES '
                       f'({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})',
                       (ticket, "inbound", "", "", "ola@example.no", "Ola", "[]", "[]", "Skriveren",
                        "2026-01-02 03:04:05", "Hjelp", "Hjelp", ""))
    handle.execute_sql(f'INSERT INTO outbox (ticket_id, kind, mail_from, recipients, message_id, subject, data, '
                       f'state, attempts, next_attempt_at, last_error, created_at, automatic, to_address) VALUES '
                       f'({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, 0, {p}, {p}, {p}, {p}, {p})',
                       (ticket, "reply", "s@x", '["ola@example.no"]', "<r1@x>", "Re: Skriveren", b"mail",
                        "sent", "2026-01-02 03:04:05", "", "2026-01-02 03:04:05", False, "ola@example.no"))

    assert db.upgrade()[0] == "0014_languages"
    customer = Customer.get()
    assert (customer.name, customer.attributes, customer.language, customer.language_source) == (
        "Ola Nordmann", '{"plan": "gold"}', "", "")
    message = Message.get()
    assert (message.body_text, message.language, message.language_confidence) == ("Hjelp", "", None)
    # The message search still follows the table: old mail is found, and so is mail stored after.
    assert ticket_search.ticket_ids("hjelp") == [ticket]
    Message.create(ticket=ticket, subject="Skriveren", body_text="Blekk", body_visible="Blekk", language="nb")
    assert ticket_search.ticket_ids("blekk") == [ticket]
    template = ReplyTemplate.get()
    assert (template.name, template.text, template.revision, template.language) == ("printer", "Slå av og på.", 3, "")
    outgoing = Outgoing.get()
    assert (bytes(outgoing.data), outgoing.state, outgoing.language) == (b"mail", "sent", "")
    # A name now has one base text and one variant per language, never two of either.
    ReplyTemplate.create(name="printer", language="ru", subject="Re: x", text="Выключите и включите.")
    with pytest.raises(IntegrityError), handle.atomic():
        ReplyTemplate.create(name="printer", language="ru", subject="Re: y", text="Другое.")
    with pytest.raises(IntegrityError), handle.atomic():
        ReplyTemplate.create(name="printer", language="", subject="Re: y", text="Other.")
    handle.close()


# Helpers -----------------------------------------------------------------------------------------

SUPPORT = "support@example.org"
TODAY = dt.datetime.now(dt.timezone.utc)

# What a customer writes, in each language, and what their acknowledgement must say.
WRITTEN = {
    "en": ("Password reset mail never arrives",
           "Hi, I cannot sign in: the mail to reset my password has not come for an hour now.",
           "Re: We have your request: Password reset mail never arrives [#10001]", "Hello Mary Smith,",
           "We received your request on {date}"),
    "nb": ("E-posten for nytt passord kommer ikke",
           "Hei, jeg får ikke logget inn. E-posten for å tilbakestille passordet har ikke kommet på en time.",
           "Re: Vi har mottatt henvendelsen din: E-posten for nytt passord kommer ikke [#10001]",
           "Hei Mary Smith,", "Vi mottok henvendelsen din {date}"),
    "ru": ("Не приходит письмо для сброса пароля",
           "Здравствуйте! Не могу войти: письмо для сброса пароля не приходит уже целый час.",
           "Re: Ваше обращение получено: Не приходит письмо для сброса пароля [#10001]",
           "Здравствуйте, Mary Smith!", "Мы получили ваше письмо {date}"),
}


def spooled(config, subject: str, body: str, frm: str = "Mary Smith <mary@example.com>", message_id: str | None = None,
            **headers) -> Ticket:
    """A mail through the spool and the whole pipeline, its acknowledgement rendered; its ticket."""
    extra = tuple(headers.items())
    message_id = message_id or f"<{subject.encode().hex()[:40]}@example.com>"
    spool.enqueue(simple_mail(frm=frm, to=SUPPORT, subject=subject, body=body, message_id=message_id,
                              extra_headers=extra), "test")
    pipeline.drain(config)
    return Ticket.select().order_by(Ticket.id.desc()).get()


def sent(row: Outgoing) -> email.message.EmailMessage:
    return email.message_from_bytes(bytes(row.data), policy=email.policy.default)


def acknowledgement_of(ticket: Ticket) -> Outgoing:
    return Outgoing.get((Outgoing.ticket == ticket.id) & (Outgoing.kind == "acknowledgement"))


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path, support={"addresses": [SUPPORT]})


@pytest.fixture
def setup(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, support={"addresses": [SUPPORT]})
    handle = db.open_database(config)
    db.upgrade()
    yield config
    handle.close()


# Detection on the way in, and the acknowledgement in the customer's language --------------------

@pytest.mark.parametrize("language", sorted(WRITTEN))
def test_mail_in_each_shipped_language_is_acknowledged_in_that_language(setup, language):
    subject, body, ack_subject, greeting, received = WRITTEN[language]
    ticket = spooled(setup, subject, body)
    message = Message.get(Message.kind == "inbound")
    assert message.language == language and message.language_confidence >= 0.75
    customer = Customer.get(Customer.email == "mary@example.com")
    assert (customer.language, customer.language_source) == (language, "detected")
    row = acknowledgement_of(ticket)
    mail = sent(row)
    assert row.language == language and mail["Content-Language"] == language
    assert mail["Subject"] == ack_subject
    text = mail.get_body(("plain",)).get_content()
    assert text.startswith(greeting)
    # Dates as a reader of the language writes them (Babel): "5. desember 2026", "5 декабря 2026 г.".
    assert received.format(date=format_date(TODAY.date(), "long", locale=language)) in text
    html = mail.get_body(("html",)).get_content()
    assert greeting in html and f'lang="{language}"' in html if language != "en" else greeting in html


def test_the_smtp_listener_hands_russian_mail_a_russian_acknowledgement_through_the_relay(tmp_path, relay):
    config = make_config(tmp_path, relay={"host": "127.0.0.1", "port": relay.port, "timeout_seconds": 2},
                         support={"addresses": [SUPPORT]})
    subject, body, ack_subject, greeting, _ = WRITTEN["ru"]
    with running_service(config) as service:
        with smtplib.SMTP("127.0.0.1", service.smtp.port, timeout=10) as client:
            client.sendmail("mary@example.com", [SUPPORT],
                            simple_mail(frm="Mary Smith <mary@example.com>", to=SUPPORT, subject=subject, body=body,
                                        message_id="ru1@example.com"))
        wait_for(lambda: relay.received)
    [ack] = relay.mails()
    assert ack["Subject"] == ack_subject and ack["Content-Language"] == "ru"
    assert ack.get_body(("plain",)).get_content().startswith(greeting)


def test_a_language_an_agent_set_wins_over_the_language_the_customer_writes_in(setup):
    customer = Customer.create(email="mary@example.com", name="Mary Smith")
    agent = User.create(username="kari", password_hash="x")
    tickets.set_customer_language(customer, "ru", actor=agent)
    subject, body, *_ = WRITTEN["en"]
    ticket = spooled(setup, subject, body)
    assert Message.get(Message.kind == "inbound").language == "en"  # the mail itself is still English
    customer = Customer.get_by_id(customer.id)
    assert (customer.language, customer.language_source) == ("ru", "set")
    mail = sent(acknowledgement_of(ticket))
    assert mail["Content-Language"] == "ru"
    assert mail["Subject"] == f"Re: Ваше обращение получено: {subject} [#10001]"
    # Given back to detection, it takes the language of their latest mail that was sure.
    tickets.set_customer_language(customer, "", actor=agent)
    assert (customer.language, customer.language_source) == ("en", "detected")


def test_the_latest_confident_detection_is_the_customers_language(setup):
    spooled(setup, *WRITTEN["en"][:2])
    spooled(setup, *WRITTEN["nb"][:2], message_id="<nb@example.com>")
    assert Customer.get(Customer.email == "mary@example.com").language == "nb"
    # A line too short to tell keeps its guess on the message and leaves the customer alone.
    spooled(setup, "Takk", "Tack!", message_id="<short@example.com>")
    short = Message.select().where(Message.kind == "inbound").order_by(Message.id.desc()).get()
    assert short.language in ("", "sv", "nb", "da", "nn") and not (short.language_confidence or 0) >= 0.99
    assert Customer.get(Customer.email == "mary@example.com").language == "nb"


def test_automatic_mail_never_decides_the_customers_language(setup):
    spooled(setup, *WRITTEN["nb"][:2])
    spooled(setup, "Automatic reply: out of office [#10001]",
            "I am out of the office until Monday and will answer your mail when I am back.",
            message_id="<ooo@example.com>", **{"Auto-Submitted": "auto-replied"})
    away = Message.get(Message.message_id == "ooo@example.com")
    assert away.automatic and away.language == "en"
    assert Customer.get(Customer.email == "mary@example.com").language == "nb"


def test_the_reply_to_a_quoted_english_mail_is_read_for_what_the_sender_wrote(setup):
    quoted = "\n".join(["", "On Monday Support wrote:", *("> " + line for line in (
        "We have looked at your account and everything seems fine on our side.",
        "Could you tell us which browser you use and send a screenshot?"))])
    spooled(setup, "Re: Password", "Hei, jeg bruker Firefox på en bærbar PC fra jobben, og skjermbildet er vedlagt."
            + quoted)
    assert Message.get(Message.kind == "inbound").language == "nb"


# Fallbacks ------------------------------------------------------------------------------------------

def test_a_german_customer_gets_bokmal_when_that_is_the_default_language(tmp_path):
    config = make_config(tmp_path, support={"addresses": [SUPPORT], "default_language": "nb"})
    db.open_database(config)
    db.upgrade()
    ticket = spooled(config, "Das Passwort funktioniert nicht",
                     "Hallo, ich kann mich seit heute Morgen nicht mehr anmelden. Die E-Mail kommt nicht an.")
    assert Customer.get().language == "de"  # what they write in is kept, though nothing is written in it
    row = acknowledgement_of(ticket)
    assert row.language == "nb" and sent(row)["Subject"].startswith("Re: Vi har mottatt henvendelsen din")
    db.database.close()


def test_a_nynorsk_reader_gets_bokmal_before_english(setup):
    ticket = spooled(setup, "Passordet verkar ikkje",
                     "Hei, eg får ikkje logga inn. E-posten for å nullstille passordet har ikkje kome.")
    assert Customer.get().language == "nn"
    row = acknowledgement_of(ticket)
    assert row.language == "nb" and sent(row)["Content-Language"] == "nb"


def test_an_unknown_customer_gets_the_default_language(tmp_path):
    config = make_config(tmp_path, support={"addresses": [SUPPORT], "default_language": "ru"})
    db.open_database(config)
    db.upgrade()
    ticket = spooled(config, "?", "12345 67890")
    assert Customer.get().language == ""
    assert acknowledgement_of(ticket).language == "ru"
    db.database.close()


# Team templates with variants ------------------------------------------------------------------------

def team_printer_template(config) -> None:
    replies.save_template(config, "printer", "Re: {{ ticket.subject }}", "Turn it off and on.\n")
    replies.save_template(config, "printer", "Re: {{ ticket.subject }}", "Slå skriveren av og på.\n", language="nb")
    replies.save_template(config, "printer", "Re: {{ ticket.subject }}",
                          "Выключите принтер и включите снова. {{ now|format_date('long') }}\n", language="ru")


def test_a_team_template_variant_is_chosen_by_the_customers_language(setup):
    team_printer_template(setup)
    ticket = spooled(setup, *WRITTEN["ru"][:2])
    row = replies.send_templated(setup, ticket, "printer", "reply")
    assert row.language == "ru" and sent(row)["Content-Language"] == "ru"
    text = sent(row).get_body(("plain",)).get_content()
    assert text.startswith("Выключите принтер") and format_date(TODAY.date(), "long", locale="ru") in text
    # The agent may send another variant, and the outbox says which went.
    other = replies.send_templated(setup, ticket, "printer", "reply", language="nb")
    assert other.language == "nb" and "Slå skriveren" in sent(other).get_body(("plain",)).get_content()


def test_without_a_variant_of_theirs_the_team_base_text_goes(setup):
    team_printer_template(setup)
    ticket = spooled(setup, "Das Passwort funktioniert nicht",
                     "Hallo, ich kann mich seit heute Morgen nicht mehr anmelden. Die E-Mail kommt nicht an.")
    variant = replies.variant_for(setup, "printer", ticket)
    assert (variant.language, variant.wanted, variant.theirs) == ("", "de", False)
    row = replies.send_templated(setup, ticket, "printer", "reply")
    assert "Turn it off and on." in sent(row).get_body(("plain",)).get_content()
    assert row.language == ""  # too short to tell what the base text is written in


def test_a_team_variant_beside_the_built_in_files_adds_a_language(setup):
    replies.save_template(setup, "acknowledgement", "Danke {{ ticket.reference }}", "Wir haben es.\n",
                          language="de")
    variant = replies.variant_for(setup, "acknowledgement", spooled(setup, *WRITTEN["ru"][:2]))
    assert variant.language == "ru" and dict(variant.available) == {
        "ru": "built-in", "en": "built-in", "de": "team", "nb": "built-in"}


def test_a_variant_in_a_language_patroldesk_does_not_know_is_refused(setup):
    with pytest.raises(replies.TemplateRefused, match="not a language"):
        replies.save_template(setup, "printer", "Hi", "Hello", language="xx")


# The command line ----------------------------------------------------------------------------------

def run_cli(config_file, *args):
    from click.testing import CliRunner

    from daemon.cli import cli as command
    result = CliRunner().invoke(command, ["--config", str(config_file), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def installed(tmp_path, monkeypatch):
    (tmp_path / "patroldesk.toml").write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/desk.db"\n[paths]\nvar = "{tmp_path}/var"\n[smtp]\nport = 0\n'
        f'[web]\nport = 0\n[support]\naddresses = ["{SUPPORT}"]\n')
    monkeypatch.setattr("daemon.logs.configure", lambda level: None)  # keep pytest's log capture
    run_cli(tmp_path / "patroldesk.toml", "init")
    yield tmp_path / "patroldesk.toml"
    db.database.close()


def test_tickets_show_json_gives_the_customers_language_and_each_messages(installed):
    config = load_config(installed, {})
    db.open_database(config)
    ticket = spooled(config, *WRITTEN["ru"][:2])
    shown = json.loads(run_cli(installed, "tickets", "show", str(ticket.number), "--json"))
    assert (shown["requester"]["language"], shown["requester"]["language_source"]) == ("ru", "detected")
    inbound, acknowledgement = shown["messages"]
    assert inbound["language"] == "ru" and inbound["language_confidence"] >= 0.75
    assert acknowledgement["delivery"]["language"] == "ru"
    text = run_cli(installed, "tickets", "show", str(ticket.number))
    assert "writes in ru (detected)" in text and ", in ru" in text


def test_an_agent_sets_the_customers_language_from_the_command_line(installed):
    config = load_config(installed, {})
    db.open_database(config)
    ticket = spooled(config, *WRITTEN["en"][:2])
    said = run_cli(installed, "customer", "language", "mary@example.com", "nb")
    assert "mary@example.com: nb (set by a person); mail goes in nb" in said
    preview = run_cli(installed, "reply", str(ticket.number), "--template", "reply", "--body", "Hei!", "--preview")
    assert "Sak [#10001]: behold denne referansen" in preview
    [event] = AuditEvent.select().where(AuditEvent.action == "customer language set")
    assert json.loads(event.detail) == {"customer": "mary@example.com", "language": "nb"}
    back = run_cli(installed, "customer", "language", "mary@example.com", "auto")
    assert "mary@example.com: en (detected in their mail)" in back


# The patrol digest ------------------------------------------------------------------------------------

def test_the_digest_is_written_in_the_readers_language(setup):
    from daemon.patrol import digest
    built = digest.build(dt.datetime(2026, 11, 16), dt.datetime(2026, 11, 23))
    norwegian = digest.render(setup, built, "nb")
    assert norwegian.language == "nb"
    assert norwegian.subject == "Patruljeoversikt 16.11.2026–22.11.2026: 0 rapporter, 0 ikke gjennomgått"
    assert "16. november 2026–22. november 2026" in norwegian.text
    russian = digest.render(setup, built, "ru")
    assert russian.subject == "Сводка патруля 16.11.2026–22.11.2026: 0 отчётов, без проверки: 0"
    days = [format_date(dt.date(2026, 11, day), "long", locale="ru") for day in (16, 22)]
    assert days[0] == "16 ноября 2026\u202fг." and f"с {days[0]} по {days[1]}" in russian.text
    assert digest.render(setup, built, "nn").language == "nb"


# The console: the ticket page and the composer ----------------------------------------------------------

@pytest.fixture
def console(setup):
    from tests.webtools import make_console
    return setup, make_console(setup)


def page_text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def test_the_ticket_page_shows_the_customers_language_and_each_messages(console):
    config, app = console
    ticket = spooled(config, *WRITTEN["ru"][:2])
    page = page_text(app.client("agent").get(f"/tickets/{ticket.number}"))
    assert '<strong lang="ru">Russian</strong> <span class="hint">(detected in their mail)</span>' in page
    assert "Written in Russian" in page and "Sent in Russian" in page
    # The composer says which language of the template goes.
    assert '<p class="hint" id="variant-note">The Russian variant will go.</p>' in page
    # In the agent's own language, the names are theirs.
    norwegian = page_text(app.client("agent").get(f"/tickets/{ticket.number}", headers={"Accept-Language": "nb"}))
    assert '<option value="ru">russisk</option>' in norwegian
    assert "Kundens språk" in norwegian and "Varianten på russisk sendes." in norwegian
    russian = page_text(app.client("agent").get(f"/tickets/{ticket.number}", headers={"Accept-Language": "ru"}))
    assert "Язык клиента" in russian and "Уйдёт вариант на языке «русский»." in russian
    assert "(определён по письмам клиента)" in russian


def test_an_agent_sets_the_customers_language_on_the_ticket_page(console):
    from tests.webtools import post
    config, app = console
    ticket = spooled(config, *WRITTEN["en"][:2])
    client = app.client("agent")
    done = post(client, f"/tickets/{ticket.number}/customer-language", {"language": "nb"},
                page=f"/tickets/{ticket.number}")
    assert done.status_code == 302
    customer = Customer.get()
    assert (customer.language, customer.language_source) == ("nb", "set")
    page = page_text(client.get(f"/tickets/{ticket.number}"))
    assert "Mail to mary@example.com now goes in Norwegian Bokmål." in page
    assert '<option value="nb" selected>Norwegian Bokmål</option>' in page
    assert "customer language set by agent" in page
    refused = post(client, f"/tickets/{ticket.number}/customer-language", {"language": "xx"},
                   page=f"/tickets/{ticket.number}")
    assert refused.status_code == 302 and Customer.get().language == "nb"
    # No token, no change.
    assert client.post(f"/tickets/{ticket.number}/customer-language", data={"language": "ru"}).status_code == 400
    assert Customer.get().language == "nb"


def test_the_composer_says_when_there_is_no_variant_of_theirs_and_lets_the_agent_pick_one(console):
    from tests.webtools import post
    config, app = console
    replies.save_template(config, "printer", "Re: {{ ticket.subject }}", "Turn it off and on.\n", language="en")
    replies.save_template(config, "printer", "Re: {{ ticket.subject }}", "Slå skriveren av og på.\n", language="nb")
    ticket = spooled(config, *WRITTEN["ru"][:2])
    client = app.client("agent")
    path = f"/tickets/{ticket.number}/reply"
    preview = page_text(post(client, path, {"template": "printer", "body": "", "action": "preview"},
                             page=f"/tickets/{ticket.number}"))
    assert '<p class="hint" id="variant-note">No Russian variant: English will go.</p>' in preview
    assert "Turn it off and on." in preview
    picked = page_text(post(client, path, {"template": "printer", "body": "", "language": "nb", "action": "preview"},
                            page=f"/tickets/{ticket.number}"))
    assert "Slå skriveren av og på." in picked and '<option value="nb" selected>' in picked
    assert post(client, path, {"template": "printer", "body": "", "language": "nb", "action": "send"},
                page=f"/tickets/{ticket.number}").status_code == 302
    row = Outgoing.get(Outgoing.kind == "reply")
    assert row.language == "nb" and "Slå skriveren av og på." in sent(row).get_body(("plain",)).get_content()


# The detector ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, language, confident", [
    ("After the toner change the printer only gives blank pages.", "en", False),  # lingua alone: Danish, sure
    ("Printeren udskriver kun tomme sider efter tonerskift.", "da", True),
    ("Passordet verkar ikkje, eg får ikkje logga inn.", "nn", True),
    ("Не приходит письмо для сброса пароля", "ru", True),
    ("Не приходить лист для скидання пароля", "uk", True),
    ("Hej, jag kan inte logga in sedan i morse.", "sv", True),
])
def test_the_detector_names_the_language_and_doubts_itself_when_the_small_words_disagree(text, language, confident):
    from daemon.mail.language import detect
    found = detect(text)
    assert (found.language, found.confident) == (language, confident)


def test_an_admin_writes_a_variant_of_a_template_from_the_console(console):
    from tests.webtools import post
    config, app = console
    replies.save_template(config, "printer", "Re: {{ ticket.subject }}", "Turn it off and on.\n")
    client = app.client("admin")
    page = page_text(client.get("/admin/templates/printer"))
    assert 'href="/admin/templates/printer/variants/ru">Russian</a> <span class="hint">none yet: write one</span>' \
        in page
    # A built-in's variant starts from its file in that language.
    start = page_text(client.get("/admin/templates/acknowledgement/variants/nb"))
    assert "Vi har mottatt henvendelsen din" in start
    path = "/admin/templates/printer/variants/ru"
    refused = post(client, path, {"subject": "Re: {{ ticket.subject }}", "text": "Здравствуйте, {{ order }}"},
                   page=path)
    assert refused.status_code == 400 and "&#39;order&#39; is undefined" in refused.get_data(as_text=True)
    saved = post(client, path, {"subject": "Re: {{ ticket.subject }}", "text": "Выключите и включите.\n"}, page=path)
    assert saved.status_code == 302
    variant = ReplyTemplate.get((ReplyTemplate.name == "printer") & (ReplyTemplate.language == "ru"))
    assert variant.text == "Выключите и включите.\n" and variant.updated_by.username == "admin"
    listed = page_text(client.get("/admin/templates"))
    assert '<a href="/admin/templates/printer/variants/ru">printer</a> <span class="badge" lang="ru">ru</span>' \
        in listed
    ticket = spooled(config, *WRITTEN["ru"][:2])
    assert "Выключите и включите." in replies.preview(config, "printer", ticket).text
    assert app.client("agent").get(path).status_code == 403
    assert post(client, f"{path}/delete", {}, page=path).status_code == 302
    assert replies.preview(config, "printer", ticket).text == "Turn it off and on.\n"
