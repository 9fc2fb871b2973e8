"""Composition of outgoing mail: threading headers, signed Message-IDs, no header injection.

Each composed mail is parsed back, with the standard library and with the
project's own parser, to check what a receiver will really see.
"""
from __future__ import annotations

import email
import email.policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.mail.parse import parse
from daemon.outbound.compose import Draft, compose, message_id_key, one_line, tagged_subject, ticket_of_message_id
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


def parsed(mail) -> email.message.EmailMessage:
    return email.message_from_bytes(mail.data, policy=email.policy.default)


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
                         ).data)
    assert mail.subject == "Re: Принтер не печатает [#10042]"
    assert (mail.to[0].name, mail.to[0].addr) == ("Анна Петрова", "anna@example.ru")
    assert mail.in_reply_to == ("abc@mail.example.no",)
    assert "slå den av" in mail.text


def test_the_message_id_names_its_ticket_and_cannot_be_forged(config):
    message_id = compose(config, draft()).message_id
    assert ticket_of_message_id(config, message_id) == 10042
    forged = message_id.replace("pd.10042.", "pd.10043.")
    assert ticket_of_message_id(config, forged) is None
    assert ticket_of_message_id(config, "<something@else>") is None
    assert ticket_of_message_id(config, None) is None
    other = make_config(config.var_dir.parent / "other", support={"addresses": ["hjelp@example.no"]})
    assert ticket_of_message_id(other, message_id) is None  # another installation's key


def test_every_message_id_is_new(config):
    ids = {compose(config, draft()).message_id for _ in range(50)}
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
    ("[#10042] Re: Printer", True, "Re: Printer [#10042]"),  # the tag goes to the end, and no Re: stacks
    ("Printer [#999]", False, "Printer [#10042]"),  # another ticket's tag would thread a reply there
    ("", False, "[#10042]"),
])
def test_the_tag_goes_in_once_and_re_is_not_doubled(subject, reply, expected):
    assert tagged_subject(subject, 10042, TAG, reply) == expected


def test_names_and_subjects_cannot_inject_headers(config):
    evil = draft(to=("Eve\r\nBcc: victim@example.org", "eve@example.org"),
                    sender=("Support\nX-Evil: 1", "hjelp@example.no"),
                    subject="Hello\r\nBcc: victim@example.org\r\n\r\nforged body",
                    in_reply_to="abc@x>\r\nBcc: <victim@example.org")
    raw = compose(config, evil).data
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
    raw = compose(config, draft(to=("Jørgen", "jørgen@eksempel.no"))).data
    assert "jørgen@eksempel.no".encode() in raw
    assert parse(raw).to[0].addr == "jørgen@eksempel.no"


# The wire format is written by hand: whatever the names, subjects and texts, a
# receiver must read back exactly what was meant, with the stdlib and with our parser.

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_TEXT, subject=_TEXT, body=_TEXT, html=st.none() | _TEXT)
def test_whatever_the_words_the_mail_reads_back_as_written(config, name, subject, body, html):
    mail = compose(config, draft(to=(name, "kunde@example.no"), subject=subject, text=body, html=html))
    assert all(len(line) <= 998 for line in mail.data.split(b"\r\n"))
    assert b"\n" not in mail.data.replace(b"\r\n", b"")  # CRLF only, no bare line ends
    back = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert not [d for d in back.defects]
    assert str(back["Subject"]) == mail.subject == tagged_subject(subject, 10042, TAG, reply=True)
    [to] = back["To"].addresses
    # The stdlib's parser keeps the space between two encoded words of a display name (RFC 2047
    # says to drop it; it does so for its own long names too), so it is compared without spaces.
    assert ("".join(to.display_name.split()), to.addr_spec) == ("".join(one_line(name)[:200].split()),
                                                                "kunde@example.no")
    wanted = body.replace("\r\n", "\n").replace("\r", "\n")
    plain = back.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain == (wanted if wanted.endswith("\n") else wanted + "\n")
    if html is not None:
        shown = back.get_body(("html",)).get_content().replace("\r\n", "\n")
        wanted_html = html.replace("\r\n", "\n").replace("\r", "\n")
        assert shown == (wanted_html if wanted_html.endswith("\n") else wanted_html + "\n")
    ours = parse(mail.data)
    assert ours.subject == mail.subject
    # (our parser trims quote marks around a name, as clients add them: "'Ola'")
    assert (ours.to[0].name.strip("\"' "), ours.to[0].addr) == (one_line(name)[:200].strip("\"' "),
                                                               "kunde@example.no")


@pytest.mark.parametrize("name, wire", [
    ("Doe, John", b'To: "Doe, John" <ase@example.no>'),
    ('Ola "the fixer" Nordmann', b'To: "Ola \\"the fixer\\" Nordmann" <ase@example.no>'),
    ("", b"To: ase@example.no"),
])
def test_ascii_names_are_quoted_where_they_must_be(config, name, wire):
    assert wire + b"\r\n" in compose(config, draft(to=(name, "ase@example.no"))).data


def test_a_long_subject_is_folded_and_reads_back_whole(config):
    subject = "Skriveren på tredje etasje skriver ut blanke ark etter oppdateringen " * 4
    mail = compose(config, draft(subject=subject))
    head = mail.data.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    back = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert back["Subject"] == f"Re: {' '.join(subject.split())} [#10042]"


def test_cyrillic_text_goes_as_base64_and_norwegian_as_quoted_printable(config):
    russian = compose(config, draft(text="Принтер на третьем этаже не печатает. " * 20)).data
    norwegian = compose(config, draft(text="Skriveren på tredje etasje skriver ikke. " * 20)).data
    assert b"Content-Transfer-Encoding: base64" in russian
    assert b"Content-Transfer-Encoding: quoted-printable" in norwegian
    assert b"Content-Transfer-Encoding: 7bit" in compose(config, draft(text="plain ascii\n")).data
