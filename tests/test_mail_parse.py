"""parse(): raw bytes -> ParsedMail, over the generated corpus and targeted traps."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from daemon.mail.addresses import addr_spec, split_addresses
from daemon.mail.dates import parse_date
from daemon.mail.mime import header_params
from daemon.mail.nesting import limit_nesting
from daemon.mail.parse import Address, MailUnparseable, parse
from tests.corpus import (
    CASES_BY_NAME, CORPUS, CRLF, PDF_BYTES, PNG_BYTES, RUSSIAN_BODY, b64, base_headers, encoded_word,
    encoded_word_bytes, headers, leaf, mail, multipart, nested_deep, qp, simple_mail,
)

NOW = datetime(2024, 1, 10, 12, 0, tzinfo=timezone.utc)


def parsed(name: str):
    return parse(CASES_BY_NAME[name].raw, now=NOW)


def text_mail(*pairs, body: bytes = b"Body.\r\n", content_type: str = "text/plain") -> bytes:
    return mail(list(pairs), leaf(content_type, body))


# ---------------------------------------------------------------------------
# The corpus.


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_corpus_case_parses_to_expected_fields(case):
    if case.subject is None:
        with pytest.raises(MailUnparseable):
            parse(case.raw, now=NOW)
        return
    mail_ = parse(case.raw, now=NOW)
    assert mail_.subject == case.subject
    for fragment in case.text_contains:
        assert fragment in mail_.text
    if case.text is not None:
        assert mail_.text == case.text
    assert (mail_.sender.addr if mail_.sender else None) == case.sender
    assert tuple(a.filename for a in mail_.attachments) == case.attachments
    assert (mail_.automatic is not None) == case.automatic
    assert mail_.size == len(case.raw)


def test_corpus_gives_the_exact_text_of_every_parseable_case():
    assert [case.name for case in CORPUS if case.subject is not None and case.text is None] == []


def test_corpus_message_ids_are_unique():
    ids = [parse(case.raw, now=NOW).message_id for case in CORPUS if case.subject is not None]
    present = [message_id for message_id in ids if message_id]
    assert len(present) == len(set(present))


def test_corpus_texts_are_storable_utf8_without_nul():
    for case in CORPUS:
        if case.subject is None:
            continue
        mail_ = parse(case.raw, now=NOW)
        for value in (mail_.subject, mail_.text, mail_.visible_text, mail_.html or ""):
            value.encode("utf-8")
            assert "\x00" not in value


# ---------------------------------------------------------------------------
# Unparseable input.


@pytest.mark.parametrize("raw", [b"", b"\r\n\r\n", b"\x00\x01\x02\x03binary", b"no headers here\r\n\r\nbody"])
def test_not_a_mail_raises_mail_unparseable_with_reason(raw):
    with pytest.raises(MailUnparseable) as caught:
        parse(raw)
    assert caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_leading_blank_lines_before_headers_are_tolerated():
    mail_ = parse(b"\r\n" + text_mail(("Subject", "hi"), ("From", "a@example.com")))
    assert mail_.subject == "hi"
    assert mail_.sender == Address("", "a@example.com")


def test_mutated_corpus_never_raises_anything_but_mail_unparseable():
    rng = random.Random(20240102)
    seeds = [case.raw for case in CORPUS if case.raw and len(case.raw) < 20000]
    junk = [b"\r\n", b"=?", b"?=", b"--", b"\xff", b"\x00", b";", b'"', b"boundary=", b"=?utf-8?B?"]
    for _ in range(300):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(data) + 1)
            if rng.random() < 0.5:
                data[position:position] = rng.choice(junk)
            else:
                del data[position:position + rng.randint(1, 40)]
        try:
            result = parse(bytes(data), now=NOW)
        except MailUnparseable:
            continue
        assert "\n" not in result.subject


# ---------------------------------------------------------------------------
# Identity headers.


def test_message_id_is_stripped_of_angle_brackets_and_whitespace():
    raw = text_mail(("Message-ID", "  <abc.123@example.com>  "))
    assert parse(raw).message_id == "abc.123@example.com"


def test_blank_message_id_is_none():
    assert parse(text_mail(("Message-ID", "   "), ("Subject", "x"))).message_id is None


def test_mail_without_message_id_has_none():
    assert parsed("no-message-id").message_id is None


def test_in_reply_to_and_references_keep_order_without_brackets():
    raw = text_mail(
        ("In-Reply-To", "<parent@example.com> (Your message of Monday)"),
        ("References", "<root@example.com>\r\n <middle@example.com> <parent@example.com>"),
    )
    mail_ = parse(raw)
    assert mail_.in_reply_to == ("parent@example.com",)
    assert mail_.references == ("root@example.com", "middle@example.com", "parent@example.com")


def test_simple_mail_helper_round_trips():
    raw = simple_mail(frm="Ærlig Åse <ase@example.no>", to="Поддержка <help@example.com>",
                      subject="Спасибо за помощь", body="Tusen takk!\nVennlig hilsen", message_id="m1@example.no",
                      in_reply_to="<p@example.com>", references="<r@example.com> <p@example.com>",
                      extra_headers=(("X-Test", "1"),))
    mail_ = parse(raw)
    assert mail_.subject == "Спасибо за помощь"
    assert mail_.sender == Address("Ærlig Åse", "ase@example.no")
    assert mail_.to == (Address("Поддержка", "help@example.com"),)
    assert mail_.text == "Tusen takk!\nVennlig hilsen"
    assert mail_.message_id == "m1@example.no"
    assert mail_.in_reply_to == ("p@example.com",)
    assert mail_.references == ("r@example.com", "p@example.com")


# ---------------------------------------------------------------------------
# Addresses.


def test_address_lists_with_quoted_commas_comments_and_groups():
    raw = text_mail(
        ("From", '"Doe, John" <John.Doe@Example.COM>'),
        ("To", "a@example.com (Alice A), Bob <bob@example.com>, Team: c@example.com, d@example.com;"),
        ("Cc", "undisclosed-recipients:;"),
    )
    mail_ = parse(raw)
    assert mail_.sender == Address("Doe, John", "John.Doe@Example.COM")
    assert mail_.sender.key == "john.doe@example.com"
    assert [a.addr for a in mail_.to] == ["a@example.com", "bob@example.com", "c@example.com", "d@example.com"]
    assert mail_.to[0].name == "Alice A"
    assert mail_.cc == ()


def test_sender_falls_back_to_reply_to_then_sender():
    only_reply_to = text_mail(("Reply-To", "r@example.com"), ("Sender", "s@example.com"))
    only_sender = text_mail(("Sender", "Service <s@example.com>"))
    assert parse(only_reply_to).sender.addr == "r@example.com"
    assert parse(only_sender).sender == Address("Service", "s@example.com")


def test_sender_falls_back_to_return_path_last():
    only_return_path = text_mail(("Return-Path", "<bounce-42@lists.example.com>"))
    with_sender = text_mail(("Return-Path", "<bounce@example.com>"), ("Sender", "s@example.com"))
    assert parse(only_return_path).sender == Address("", "bounce-42@lists.example.com")
    assert parse(with_sender).sender.addr == "s@example.com"


@pytest.mark.parametrize("value", ["<>", " < > ", ""])
def test_null_or_empty_return_path_names_no_sender(value):
    assert parse(text_mail(("Return-Path", value), ("Subject", "bounce"))).sender is None


def test_null_return_path_does_not_hide_a_later_one():
    raw = text_mail(("Return-Path", "<>"), ("Return-Path", "<real@example.com>"))
    assert parse(raw).sender.addr == "real@example.com"


def test_split_addresses_gives_raw_name_and_address_pairs():
    assert split_addresses('"Doe, J" <j@x.example>, k@y.example (Kay), <>') == [
        ("Doe, J", "j@x.example"), ("Kay", "k@y.example"), ("", "")]


def test_a_quoted_local_part_without_angle_brackets_is_the_whole_address():
    assert parse(text_mail(("From", '"john smith"@example.org'))).sender == Address("", '"john smith"@example.org')
    commented = parse(text_mail(("From", '"john smith"@example.org (John Smith)'))).sender
    assert commented == Address("John Smith", '"john smith"@example.org')
    assert parse(text_mail(("From", '"john"@example.org'))).sender == Address("", "john@example.org")


def test_html_in_a_quoted_local_part_or_display_name_stays_where_it_was_written():
    local = parse(text_mail(("From", '"<img src=x onerror=alert(1)>"@example.org'))).sender
    assert local == Address("", '"<img src=x onerror=alert(1)>"@example.org')
    named = parse(text_mail(("From", '"<img src=x onerror=alert(1)>" <x@example.org>'))).sender
    assert named == Address("<img src=x onerror=alert(1)>", "x@example.org")


def test_a_from_that_is_no_address_gives_way_to_a_header_that_has_one():
    assert parse(text_mail(("From", "John"), ("Reply-To", "john@example.org"))).sender.addr == "john@example.org"
    assert parse(text_mail(("From", "John"))).sender.addr == "John"  # what was written, for the pipeline to judge


@pytest.mark.parametrize("text, spec", [
    ("a@example.org", "a@example.org"),
    ('"john smith"@example.org', '"john smith"@example.org'),
    ('"john"@example.org', "john@example.org"),
    ("jöran@bücher.example", "jöran@bücher.example"),
    ("a@[192.0.2.1]", "a@[192.0.2.1]"),
    ("@example.org", None), ("x@", None), ("John", None), ("a@b@c", None), ("foo bar@x.org", None),
    ('smith"@example.org', None), ("a@example.org\r\nBcc: b@example.org", None), ("", None),
    ("a" * 400 + "@example.org", None),
])
def test_addr_spec_accepts_rfc_5322_addresses_only(text, spec):
    assert addr_spec(text) == spec


def test_missing_from_subject_and_date_give_empty_values():
    mail_ = parsed("missing-subject-from-date")
    assert (mail_.sender, mail_.subject, mail_.date) == (None, "", None)


def test_crlf_inside_encoded_from_name_gives_one_line_name_and_note():
    mail_ = parsed("crlf-in-encoded-from-name")
    assert mail_.sender.name == "Evil Bcc: victim@example.com"
    assert "\n" not in mail_.sender.name and "\r" not in mail_.sender.name
    assert "header 'From' had CR/LF inside an encoded word" in mail_.notes


def test_internationalised_addresses_are_unicode():
    mail_ = parsed("eai-utf8-addresses")
    assert mail_.sender == Address("Jöran Bücher", "jöran@bücher.example")
    assert mail_.to == (Address("", "用户@例子.广告"), Address("Поддержка", "поддержка@пример.рф"))
    assert mail_.sender.key == "jöran@bücher.example"


def test_encoded_word_inside_quoted_display_name_is_decoded():
    assert parsed("rfc2047-in-quoted-display-name").sender.name == "Ærlig, Åse"


def test_raw_8bit_display_name_is_decoded_with_body_charset_hint():
    raw = mail([("From", "Иван Петров <ivan@example.ru>".encode("koi8_r")), ("Subject", "x")],
               leaf("text/plain; charset=koi8-r", "Привет".encode("koi8_r"), "8bit"))
    assert parse(raw).sender == Address("Иван Петров", "ivan@example.ru")


# ---------------------------------------------------------------------------
# Subject.


def test_encoded_subject_with_crlf_is_stored_on_one_line_with_note():
    mail_ = parsed("crlf-in-encoded-subject")
    assert mail_.subject == "Line one Line two and three"
    assert "header 'Subject' had CR/LF inside an encoded word" in mail_.notes


def test_folded_subject_is_unfolded_and_whitespace_collapsed():
    raw = text_mail(("Subject", "Hello\r\n   world,\r\n\tagain  "))
    assert parse(raw).subject == "Hello world, again"


def test_subject_of_100_kb_is_kept_whole():
    words = " ".join(f"word{i}" for i in range(15000))
    assert len(words) > 100_000
    assert parse(text_mail(("Subject", words))).subject == words


def test_header_line_of_100_kb_does_not_disturb_parsing():
    mail_ = parsed("header-line-100kb")
    assert mail_.subject == "Long header" and mail_.text == "Short body."


def test_raw_utf8_subject_without_encoded_words():
    assert parsed("raw-8bit-subject-utf8").subject == "Тест принтера"


def test_raw_koi8r_subject_uses_body_charset_and_notes_it():
    mail_ = parsed("raw-8bit-subject-koi8r")
    assert mail_.subject == "Тест принтера"
    assert any("koi8-r" in note for note in mail_.notes)


def test_raw_8bit_subject_without_any_charset_is_detected():
    subject = "Не работает принтер в бухгалтерии, помогите пожалуйста"
    raw = mail([("Subject", subject.encode("cp1251"))], leaf("text/plain", b"Body.\r\n"))
    assert parse(raw).subject == subject


# ---------------------------------------------------------------------------
# Dates.


@pytest.mark.parametrize("value", [
    "Mon, 01 Jan 0000 00:00:00 +0000",
    "Mon, 1 Jan 0 00:00:00 +0000",
    "Fri, 31 Dec 9999 23:59:59 -1200",
    "garbage",
    "1700000000",
    "Tue, 31 Feb 2024 10:00:00 +0000",
    "Sat, 01 Jan 1972 10:00:00 +0000",
    "Fri, 12 Jan 2024 12:00:01 +0000",  # more than two days after NOW
    "",
])
def test_absurd_or_unreadable_dates_are_none(value):
    assert parse(text_mail(("Date", value)), now=NOW).date is None


def test_parse_date_reads_a_header_value_directly():
    assert parse_date("Tue, 02 Jan 2024 10:00:00 +0100", NOW) == datetime(2024, 1, 2, 9, 0, tzinfo=timezone.utc)
    assert parse_date(None, NOW) is None


@pytest.mark.parametrize("value, expected", [
    ("Tue, 02 Jan 2024 10:00:00 +0100", datetime(2024, 1, 2, 9, 0, tzinfo=timezone.utc)),
    ("2 Jan 2024 10:00 GMT", datetime(2024, 1, 2, 10, 0, tzinfo=timezone.utc)),
    ("Tue, 2 Jan 24 10:00:00 -0500", datetime(2024, 1, 2, 15, 0, tzinfo=timezone.utc)),
    ("Tue, 02 Jan 2024 10:00:00 +0000 (UTC)", datetime(2024, 1, 2, 10, 0, tzinfo=timezone.utc)),
    ("Fri, 11 Jan 2024 12:00:00 +0000", datetime(2024, 1, 11, 12, 0, tzinfo=timezone.utc)),
])
def test_dates_are_aware_utc(value, expected):
    date = parse(text_mail(("Date", value)), now=NOW).date
    assert date == expected
    assert date.utcoffset().total_seconds() == 0


# ---------------------------------------------------------------------------
# Body selection.


def test_alternative_prefers_plain_text_and_sanitises_html():
    alternative = multipart("alternative", "b",
                            leaf("text/plain; charset=utf-8", b"Plain version\r\n"),
                            leaf("text/html; charset=utf-8", b"<p>HTML <script>x()</script>version</p>"))
    mail_ = parse(mail([("Subject", "alt")], alternative))
    assert mail_.text == "Plain version"
    assert mail_.html == "<p>HTML version</p>"


def test_alternative_with_blank_plain_uses_html_as_text():
    mail_ = parsed("alternative-empty-plain")
    assert mail_.text == "Only the HTML has text"


def test_html_only_mail_is_converted_and_kept_sanitised():
    mail_ = parsed("html-only")
    assert "Ignore me" not in mail_.text and "alert" not in mail_.text
    assert "<script" not in mail_.html and "<style" not in mail_.html
    assert "<b>HTML</b>" in mail_.html


def test_plain_only_mail_has_no_html():
    assert parsed("no-message-id").html is None


def test_mixed_with_text_and_attachments_decodes_attachment_data():
    mail_ = parsed("nested-mixed-alternative-related")
    logo, invoice = mail_.attachments
    assert (logo.data, logo.content_type, logo.content_id, logo.inline) == (PNG_BYTES, "image/png", "logo@corpus", True)
    assert (invoice.data, invoice.content_type, invoice.content_id, invoice.inline) == (
        PDF_BYTES, "application/pdf", None, False)
    assert mail_.text == "See the picture.\nRegards"
    assert 'src="cid:logo@corpus"' in mail_.html


def test_related_images_without_disposition_are_inline_when_they_have_content_id():
    related = multipart("related", "r",
                        leaf("text/html", b'<img src="cid:pic1">Text'),
                        leaf("image/gif", b64(b"GIF89a"), "base64", ("Content-ID", "<pic1>")))
    attachment, = parse(mail([("Subject", "r")], related)).attachments
    assert (attachment.filename, attachment.inline, attachment.content_id) == ("attachment-1.gif", True, "pic1")


def test_quoted_printable_attachment_is_decoded():
    mixed = multipart("mixed", "m", leaf("text/plain", b"Body"),
                      leaf("text/csv", qp("a;b\nÆ;Ø\n".encode("utf-8")), "quoted-printable",
                           ("Content-Disposition", "attachment; filename=data.csv")))
    attachment, = parse(mail([("Subject", "qp")], mixed)).attachments
    # The line end before a boundary belongs to the boundary (RFC 2046 5.1.1).
    assert attachment.data == "a;b\r\nÆ;Ø".encode("utf-8")
    assert attachment.filename == "data.csv"


def test_attached_message_is_an_attachment_named_from_its_subject():
    mail_ = parsed("attached-rfc822")
    attachment, = mail_.attachments
    assert attachment.filename == "Original question.eml"
    assert attachment.content_type == "message/rfc822"
    assert attachment.data.startswith(b"From: someone@corpus.example")
    assert b"The forwarded text." in attachment.data
    assert "The forwarded text." not in mail_.text


def test_text_part_with_attachment_disposition_is_not_body():
    mail_ = parsed("text-part-as-attachment")
    assert mail_.text == "The body."
    assert mail_.attachments[0].data == b"Log line 1\r\nLog line 2"


def test_several_inline_text_parts_are_joined_with_a_blank_line():
    assert parsed("apple-mail-inline-text-parts").text == (
        "First part of my message.\n\nSecond part after the picture.")


def test_inline_text_parts_with_filenames_are_body_text():
    mail_ = parsed("inline-text-parts-with-filenames")
    assert mail_.text == "a simple kind of mirror\nto reflect upon our own\n\na second mirror"
    assert mail_.attachments == ()


def test_inline_html_part_with_filename_is_the_html_body():
    mixed = multipart("mixed", "m", leaf("text/html; name=page.html", b"<p>Typed <b>text</b></p>", "7bit",
                                         ("Content-Disposition", "INLINE; filename=page.html")))
    mail_ = parse(mail([("Subject", "h")], mixed))
    assert (mail_.text, mail_.html, mail_.attachments) == ("Typed text", "<p>Typed <b>text</b></p>", ())


def test_text_attachment_stays_an_attachment_even_without_other_body():
    mixed = multipart("mixed", "m", leaf("text/plain", b"Log line\r\n", "7bit",
                                         ("Content-Disposition", 'attachment; filename="log.txt"')))
    mail_ = parse(mail([("Subject", "log")], mixed))
    assert mail_.text == ""
    assert [a.filename for a in mail_.attachments] == ["log.txt"]


def test_named_text_part_without_disposition_is_an_attachment_beside_body_text():
    mixed = multipart("mixed", "m", leaf("text/plain", b"The body.\r\n"),
                      leaf('text/plain; name="notes.txt"', b"Notes.\r\n"))
    mail_ = parse(mail([("Subject", "n")], mixed))
    assert mail_.text == "The body."
    assert [a.filename for a in mail_.attachments] == ["notes.txt"]


def test_first_named_text_part_becomes_the_body_when_there_is_no_other_text():
    mixed = multipart("mixed", "m",
                      leaf("image/png", b64(PNG_BYTES), "base64", ("Content-Disposition", "attachment")),
                      leaf('text/plain; name="a.txt"', b"Typed text.\r\n"),
                      leaf('text/plain; name="b.txt"', b"Other file.\r\n"),
                      leaf("text/plain", b"Log.\r\n", "7bit", ("Content-Disposition", "attachment; filename=c.txt")))
    mail_ = parse(mail([("Subject", "fallback")], mixed))
    assert mail_.text == "Typed text."
    assert [a.filename for a in mail_.attachments] == ["attachment-1.png", "b.txt", "c.txt"]


def test_named_html_part_becomes_the_html_body_when_there_is_no_other_text():
    mixed = multipart("mixed", "m", leaf("application/pdf", b64(PDF_BYTES), "base64"),
                      leaf('text/html; name="mail.html"', b"<p>Hello</p>"))
    mail_ = parse(mail([("Subject", "fallback")], mixed))
    assert (mail_.text, mail_.html) == ("Hello", "<p>Hello</p>")
    assert [a.content_type for a in mail_.attachments] == ["application/pdf"]


def test_line_endings_are_normalised():
    raw = mail([("Subject", "crlf")], leaf("text/plain", b"one\r\ntwo\rthree\nfour\r\n"))
    assert parse(raw).text == "one\ntwo\nthree\nfour"


def test_visible_text_drops_trailing_quote_but_text_keeps_it():
    body = b"Thanks, that worked.\r\n\r\nOn Mon, 1 Jan 2024 at 10:00, Support <s@x.com> wrote:\r\n> Try again\r\n"
    mail_ = parse(mail([("Subject", "q")], leaf("text/plain", body)))
    assert mail_.visible_text == "Thanks, that worked."
    assert "> Try again" in mail_.text


def test_visible_text_is_never_empty_when_text_is_not():
    body = b"> only a quote\r\n> nothing else\r\n"
    mail_ = parse(mail([("Subject", "q")], leaf("text/plain", body)))
    assert mail_.visible_text == mail_.text != ""


def test_multipart_report_body_is_the_human_readable_part():
    mail_ = parsed("dsn-bounce")
    assert mail_.text.startswith("Delivery to the following recipient failed permanently")
    assert mail_.automatic == "delivery status notification"
    assert mail_.attachments[0].content_type == "message/delivery-status"
    assert b"Status: 5.1.1" in mail_.attachments[0].data


# ---------------------------------------------------------------------------
# Charsets in bodies.


def test_body_without_charset_is_detected_with_note():
    mail_ = parsed("no-charset-8bit-cp1251")
    assert mail_.text == RUSSIAN_BODY
    assert "body charset missing; decoded as windows-1251 (detected)" in mail_.notes


def test_unknown_body_charset_label_is_detected_with_note():
    mail_ = parsed("unknown-label-x-unknown")
    assert mail_.text == RUSSIAN_BODY
    assert "body charset 'x-unknown' unknown; decoded as windows-1251 (detected)" in mail_.notes


def test_body_labelled_utf8_but_really_cp1251_is_detected():
    mail_ = parsed("utf8-label-really-cp1251")
    assert mail_.text == RUSSIAN_BODY
    assert any("'utf-8' did not decode cleanly" in note for note in mail_.notes)


def test_declared_charset_that_works_leaves_no_note():
    assert parsed("koi8r-qp").notes == ()


@pytest.mark.parametrize("name, label, decoded_as", [
    ("latin1-label-really-cp1251", "iso-8859-1", "windows-1251"),
    ("cp1251-label-really-koi8r", "windows-1251", "koi8-r"),
    ("koi8r-label-really-cp1251", "koi8-r", "windows-1251"),
    ("latin1-label-really-utf8", "iso-8859-1", "utf-8"),
])
def test_wrong_single_byte_label_in_body_and_subject_is_corrected_and_noted(name, label, decoded_as):
    mail_ = parsed(name)
    note = f"declared charset {label!r} looks wrong; decoded as {decoded_as}"
    assert sorted(mail_.notes) == [f"body {note}", f"header 'Subject': {note}"]


def test_correct_latin1_and_cp1251_mail_get_no_second_opinion_note():
    for name in ("iso88591-qp", "iso88591-8bit-b", "label-latin1", "windows1251-8bit", "koi8r-8bit-q",
                 "iso88595-base64", "cp866-8bit", "windows1252-qp", "iso885915-qp"):
        assert parsed(name).notes == (), name


def test_html_body_with_a_wrong_meta_charset_is_corrected():
    html = '<html><head><meta charset="iso-8859-1"></head><body><p>' + RUSSIAN_BODY + "</p></body></html>"
    mail_ = parse(mail([("Subject", "meta")], leaf("text/html", html.encode("cp1251"), "8bit")))
    assert mail_.text == RUSSIAN_BODY
    assert mail_.notes == ("HTML body declared charset 'iso-8859-1' looks wrong; decoded as windows-1251",)


def test_html_without_mime_charset_uses_meta_charset():
    html = '<html><head><meta charset="windows-1251"></head><body><p>Привет</p></body></html>'
    raw = mail([("Subject", "meta")], leaf("text/html", html.encode("cp1251"), "8bit"))
    assert parse(raw).text == "Привет"


# ---------------------------------------------------------------------------
# Structural traps.


def test_nesting_60_deep_keeps_outer_text_drops_inner_and_notes_it():
    mail_ = parse(nested_deep(60), now=NOW)
    assert "Outer text survives." in mail_.text
    assert "Innermost text." not in mail_.text
    assert "MIME nesting deeper than 50 levels; inner parts dropped" in mail_.notes


def test_nesting_5000_deep_does_not_raise_and_keeps_outer_text():
    mail_ = parse(nested_deep(5000), now=NOW)
    assert "Outer text survives." in mail_.text
    assert "Innermost text." not in mail_.text
    assert any("deeper than 50 levels" in note for note in mail_.notes)


def test_nesting_within_the_limit_keeps_everything():
    mail_ = parse(nested_deep(10), now=NOW)
    assert "Innermost text." in mail_.text
    assert not any("deeper" in note for note in mail_.notes)


def test_max_depth_parameter_is_honoured():
    mail_ = parse(nested_deep(10), now=NOW, max_depth=5)
    assert "Innermost text." not in mail_.text
    assert "MIME nesting deeper than 5 levels; inner parts dropped" in mail_.notes


def test_limit_nesting_leaves_shallow_mail_alone_and_cuts_deep_mail():
    shallow = nested_deep(3)
    assert limit_nesting(shallow, 50) == (shallow, False)
    cut, dropped = limit_nesting(nested_deep(60), 50)
    assert dropped and b"Innermost text." not in cut and b"Outer text survives." in cut


def test_deep_message_rfc822_nesting_is_capped():
    body = b"Content-Type: message/rfc822\r\n\r\nSubject: level\r\n" * 3000 + b"\r\ninner\r\n"
    raw = mail([("Subject", "deep rfc822")], leaf("multipart/mixed; boundary=o", b"--o\r\n" + body + b"--o--\r\n"))
    mail_ = parse(raw)
    assert any("deeper than 50 levels" in note for note in mail_.notes)


def test_truncated_mail_keeps_text_and_partial_attachment():
    mail_ = parsed("truncated-mid-base64")
    assert mail_.text == "The report is attached."
    attachment, = mail_.attachments
    assert 0 < len(attachment.data) < len(PDF_BYTES)
    assert PDF_BYTES.startswith(attachment.data[:200])
    assert any("closing boundary" in note for note in mail_.notes)


def test_multipart_without_boundary_shows_its_payload_as_text():
    raw = mail([("Subject", "nb")], leaf("multipart/mixed", b"Just text, really.\r\n"))
    assert parse(raw).text == "Just text, really."


def test_attachment_names_from_rfc2231_rfc2047_and_raw_utf8():
    names = [a.filename for a in parsed("hostile-attachment-names").attachments]
    assert "Отчёт за январь 2024.pdf" in names
    assert "Счёт №5.pdf" in names
    assert "Договор.docx" in names
    assert "Blåbær æøå.txt" in names


def test_attachment_without_name_gets_numbered_name_with_extension():
    mixed = multipart("mixed", "m", leaf("text/plain", b"Body"),
                      leaf("application/pdf", b64(b"%PDF"), "base64"),
                      leaf("image/jpeg", b64(b"\xff\xd8"), "base64", ("Content-Disposition", "attachment")))
    names = [a.filename for a in parse(mail([("Subject", "n")], mixed)).attachments]
    assert names == ["attachment-1.pdf", "attachment-2.jpg"]


def test_encoded_words_in_subject_per_charset():
    subject = encoded_word("Æ", "iso-8859-1", "Q", "latin-1") + " " + encoded_word_bytes(
        "ø".encode(), "utf-8", "B")
    assert parse(text_mail(("Subject", subject))).subject == "Æø"


def test_broken_quoted_printable_with_a_stray_byte_keeps_the_utf8_text():
    body = "=ZZ=\r\n=C3=A6 Blåbærsyltetøy på brødskiva \xff".encode("utf-8", "surrogateescape")
    body = body.replace(b"\xc3\xbf", b"\xff")
    raw = headers(("Subject", "x"), ("Content-Type", "text/plain; charset=utf-8"),
                  ("Content-Transfer-Encoding", "quoted-printable")) + CRLF + body
    mail_ = parse(raw)
    assert mail_.text == "=ZZæ Blåbærsyltetøy på brødskiva \ufffd"
    assert any("with replacement" in note for note in mail_.notes)


def test_base_headers_case_has_parsed_date():
    raw = mail(base_headers("date-check", "d"), leaf("text/plain", b"x"))
    assert parse(raw, now=NOW).date == datetime(2024, 1, 2, 9, 0, tzinfo=timezone.utc)


def test_mbox_from_line_before_headers_is_accepted():
    raw = b"From someone@example.com Tue Jan  2 10:00:00 2024\r\n" + text_mail(("Subject", "mbox"))
    assert parse(raw).subject == "mbox"


def test_bytes_like_input_is_accepted_and_other_types_are_unparseable():
    raw = text_mail(("Subject", "ba"))
    assert parse(bytearray(raw)).subject == parse(memoryview(raw)).subject == "ba"
    with pytest.raises(MailUnparseable):
        parse(12345)


def test_rfc2231_plain_continuations_and_charset_sections():
    main, params = header_params(
        'attachment; filename*0="long "; filename*1="name.txt"; size=10;\r\n'
        " title*=iso-8859-1'no'bl%E5b%E6r; NAME=\"a \\\"q\\\" b\"")
    assert main == "attachment"
    assert params == {"filename": "long name.txt", "size": "10", "title": "blåbær", "name": 'a "q" b'}


def test_rfc2231_with_unknown_charset_does_not_raise():
    assert header_params("attachment; filename*=x-klingon''%D0%9F.txt")[1]["filename"] == "П.txt"


def test_attached_message_subject_with_slash_does_not_become_a_path():
    inner = b"Subject: Invoice 2024/01\r\n\r\nText\r\n"
    mixed = multipart("mixed", "m", leaf("text/plain", b"See attached"),
                      headers(("Content-Type", "message/rfc822")) + CRLF + inner)
    assert parse(mail([("Subject", "f")], mixed)).attachments[0].filename == "Invoice 2024-01.eml"


def test_attached_message_without_subject_gets_eml_fallback_name():
    mixed = multipart("mixed", "m", leaf("text/plain", b"See attached"),
                      headers(("Content-Type", "message/rfc822")) + CRLF + b"From: x@example.com\r\n\r\nText\r\n")
    assert parse(mail([("Subject", "f")], mixed)).attachments[0].filename == "attachment-1.eml"


def test_related_start_parameter_picks_the_root_part():
    related = multipart("related", "r",
                        leaf("image/png", b64(PNG_BYTES), "base64", ("Content-ID", "<img1>")),
                        leaf("text/html", b"<p>The root</p>", "7bit", ("Content-ID", "<root>")),
                        extra='; start="<root>"')
    mail_ = parse(mail([("Subject", "start")], related))
    assert mail_.text == "The root"
    assert [a.content_id for a in mail_.attachments] == ["img1"]


def test_multiple_html_alternatives_in_mixed_are_all_kept():
    mixed = multipart("mixed", "m", leaf("text/html", b"<p>one</p>"), leaf("text/html", b"<p>two</p>"))
    mail_ = parse(mail([("Subject", "h")], mixed))
    assert mail_.text == "one\n\ntwo"
    assert "<p>one</p>" in mail_.html and "<p>two</p>" in mail_.html


def test_uuencoded_attachment_is_decoded():
    import binascii

    encoded = b"begin 644 a.bin\r\n" + binascii.b2a_uu(b"hello uu") + b"`\r\nend\r\n"
    mixed = multipart("mixed", "m", leaf("text/plain", b"Body"),
                      leaf("application/octet-stream", encoded, "x-uuencode",
                           ("Content-Disposition", "attachment; filename=a.bin")))
    assert parse(mail([("Subject", "uu")], mixed)).attachments[0].data == b"hello uu"


def test_message_ids_lose_control_characters_and_very_long_ids_become_digests():
    long_id = "x" * 2000 + "@example.org"
    raw = (b"From: a@example.org\r\nMessage-ID: <a\x00b@x>\r\nIn-Reply-To: <" + long_id.encode() + b">\r\n"
           b"References: <r\x01@x> <" + long_id.encode() + b">\r\n\r\nbody\r\n")
    mail = parse(raw)
    assert mail.message_id == "ab@x"
    assert mail.in_reply_to[0].startswith("sha256-") and len(mail.in_reply_to[0]) < 100
    assert mail.references == ("r@x", mail.in_reply_to[0])


def test_an_undeclared_inline_part_with_a_file_name_stays_a_file():
    raw = (b"From: a@example.org\r\nSubject: photo\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee photo\r\n"
           b"--b\r\nContent-Disposition: inline; filename=photo.png\r\n\r\n\x89PNG\r\n--b--\r\n")
    mail = parse(raw)
    assert mail.text == "see photo"
    assert [a.filename for a in mail.attachments] == ["photo.png"]


@pytest.mark.parametrize("subject, body, expected", [
    # Three accented letters alone read as Cyrillic; the undeclared body says Latin.
    (b"Umlaute ohne Kodierung \xe4\xf6\xfc", b"Gr\xfc\xdfe aus M\xfcnchen, die Umlaute \xe4\xf6\xfc fehlen.",
     "Umlaute ohne Kodierung äöü"),
    (b"Skriveren p\xe5 kontoret", b"Hei! Skriveren p\xe5 kontoret skriver ut blanke ark. Hva gj\xf8r vi n\xe5?",
     "Skriveren på kontoret"),
    (b"\xcf\xf0\xe8\xed\xf2\xe5\xf0", b"\xcf\xf0\xe8\xe2\xe5\xf2! \xcf\xf0\xe8\xed\xf2\xe5\xf0 \xed\xe5 "
     b"\xf0\xe0\xe1\xee\xf2\xe0\xe5\xf2, \xea\xe0\xea \xe1\xfb\xf2\xfc?", "Принтер"),
])
def test_raw_8bit_subjects_take_the_charset_detected_in_an_undeclared_body(subject, body, expected):
    raw = b"From: kunde@example.org\r\nTo: support@example.com\r\nSubject: " + subject + b"\r\n\r\n" + body + b"\r\n"
    assert parse(raw).subject == expected


def test_a_raw_latin_subject_is_not_read_with_the_charset_of_a_cyrillic_attachment_or_body():
    attachment = b64("Привет, это вложение в кодировке windows-1251.".encode("cp1251"))
    with_attachment = (
        b"From: a@example.org\r\nTo: s@example.com\r\nSubject: Rechnung f\xfcr M\xfcller, Gr\xf6\xdfe\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
        b"Content-Type: text/plain\r\n\r\nHello\r\n--XX\r\nContent-Type: text/plain\r\n"
        b"Content-Disposition: attachment; filename=a.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + attachment + b"\r\n--XX--\r\n")
    cyrillic_body = (b"From: a@example.org\r\nTo: s@example.com\r\nSubject: Rechnung f\xfcr M\xfcller, Gr\xf6\xdfe"
                     b"\r\n\r\n" + "Здравствуйте, счёт во вложении, спасибо.".encode("cp1251") + b"\r\n")
    assert parse(with_attachment).subject == "Rechnung für Müller, Größe"
    assert parse(cyrillic_body).subject == "Rechnung für Müller, Größe"
