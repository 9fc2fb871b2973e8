"""Composition of outgoing mail: threading headers, signed Message-IDs, no header injection.

Each composed mail is parsed back, with the standard library and with the
project's own parser, to check what a receiver will really see.
"""
from __future__ import annotations

import email
import email.policy

import pytest

from daemon.compose import Draft, compose, message_id_key, tagged_subject, ticket_of_message_id
from daemon.mail.parse import parse
from tests.conftest import make_config

TAG = "[#{ref}]"


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path, support={"name": "Kundestøtte", "addresses": ["hjelp@example.no"]})


def draft(**changes) -> Draft:
    values = dict(ticket_number=10042, to=("Åse Øvrebø", "ase@example.no"), sender=("Kundestøtte", "hjelp@example.no"),
                  subject="Skriveren virker ikke", text="Hei Åse,\n\nprøv å slå den av og på.\n",
                  in_reply_to="abc@mail.example.no", references=("root@mail.example.no",))
    values.update(changes)
    return Draft(**values)


def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def test_a_reply_continues_the_customers_thread(config):
    back = parsed(compose(config, draft()))
    assert back["In-Reply-To"] == "<abc@mail.example.no>"
    assert back["References"] == "<root@mail.example.no> <abc@mail.example.no>"
    assert back["Subject"] == "Re: Skriveren virker ikke [#10042]"
    assert back["From"].addresses[0].display_name == "Kundestøtte"
    assert back["From"].addresses[0].addr_spec == "hjelp@example.no"
    assert back["To"].addresses[0].display_name == "Åse Øvrebø"
    assert back["Message-ID"].endswith("@example.no>")
    assert back["Auto-Submitted"] is None
    assert back.get_content().replace("\r\n", "\n") == "Hei Åse,\n\nprøv å slå den av og på.\n"  # CRLF on the wire


def test_the_projects_own_parser_reads_it_back_the_same(config):
    mail = parse(compose(config, draft(subject="Принтер не печатает", to=("Анна Петрова", "anna@example.ru"))
                         ).as_bytes())
    assert mail.subject == "Re: Принтер не печатает [#10042]"
    assert (mail.to[0].name, mail.to[0].addr) == ("Анна Петрова", "anna@example.ru")
    assert mail.in_reply_to == ("abc@mail.example.no",)
    assert "slå den av" in mail.text


def test_the_message_id_names_its_ticket_and_cannot_be_forged(config):
    message_id = compose(config, draft())["Message-ID"]
    assert ticket_of_message_id(config, message_id) == 10042
    forged = message_id.replace("pd.10042.", "pd.10043.")
    assert ticket_of_message_id(config, forged) is None
    assert ticket_of_message_id(config, "<something@else>") is None
    assert ticket_of_message_id(config, None) is None
    other = make_config(config.var_dir.parent / "other", support={"addresses": ["hjelp@example.no"]})
    assert ticket_of_message_id(other, message_id) is None  # another installation's key


def test_every_message_id_is_new(config):
    ids = {compose(config, draft())["Message-ID"] for _ in range(50)}
    assert len(ids) == 50


def test_the_key_is_made_once_and_kept(config):
    first = message_id_key(config)
    key_file = config.var_dir / "message-id.key"
    assert key_file.read_bytes().strip() == first and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert message_id_key(config) == first


@pytest.mark.parametrize("subject, reply, expected", [
    ("Printer", False, "Printer [#10042]"),
    ("Printer [#10042]", False, "Printer [#10042]"),
    ("Re: Printer [#10042]", True, "Re: Printer [#10042]"),
    ("RE: Sv: AW: Printer", True, "Re: Printer [#10042]"),
    ("Ответ: Принтер", True, "Re: Принтер [#10042]"),
    ("[#10042] Re: Printer", True, "Re: [#10042] Re: Printer"),
    ("Printer [#999]", False, "Printer [#999] [#10042]"),  # someone else's tag stays; ours is added
    ("", False, "[#10042]"),
])
def test_the_tag_goes_in_once_and_re_is_not_doubled(subject, reply, expected):
    assert tagged_subject(subject, 10042, TAG, reply) == expected


def test_names_and_subjects_cannot_inject_headers(config):
    evil = draft(to=("Eve\r\nBcc: victim@example.org", "eve@example.org"),
                    sender=("Support\nX-Evil: 1", "hjelp@example.no"),
                    subject="Hello\r\nBcc: victim@example.org\r\n\r\nforged body",
                    in_reply_to="abc@x>\r\nBcc: <victim@example.org")
    raw = compose(config, evil).as_bytes()
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert sorted(back.keys()) == sorted(["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
                                          "Content-Type", "Content-Transfer-Encoding", "MIME-Version"])
    assert back["Bcc"] is None and back["X-Evil"] is None
    assert back["Subject"] == "Re: Hello Bcc: victim@example.org forged body [#10042]"
    assert [a.addr_spec for a in back["To"].addresses] == ["eve@example.org"]


def test_an_automatic_reply_says_so(config):
    back = parsed(compose(config, draft(automatic=True)))
    assert back["Auto-Submitted"] == "auto-replied"
    assert back["X-Auto-Response-Suppress"] == "All"


def test_html_goes_with_the_text_as_an_alternative(config):
    back = parsed(compose(config, draft(html="<p>Hei <b>Åse</b></p>")))
    assert back.get_content_type() == "multipart/alternative"
    assert back.get_body(("html",)).get_content().strip() == "<p>Hei <b>Åse</b></p>"
    assert back.get_body(("plain",)).get_content().startswith("Hei Åse")


def test_an_internationalised_address_is_written_as_utf8(config):
    raw = compose(config, draft(to=("Jørgen", "jørgen@eksempel.no"))).as_bytes()
    assert "jørgen@eksempel.no".encode() in raw
    assert parse(raw).to[0].addr == "jørgen@eksempel.no"
