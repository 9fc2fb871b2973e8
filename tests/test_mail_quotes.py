"""strip_quoted(): trailing quotes, attributions, Outlook blocks and signatures."""

from __future__ import annotations

import pytest

from daemon.mail.quotes import strip_quoted


@pytest.mark.parametrize("attribution", [
    "On Mon, 2 Jan 2026 at 10:00, Support <support@example.com> wrote:",
    "On 02.01.2026 10:00, Support wrote:",
    "2 янв. 2026 г., в 10:00, Поддержка <support@example.com> пишет:",
    "Иван Петров написал(а):",
    "02.01.2026 10:00, Иван написал:",
    "Служба поддержки написала:",
    "Ola Nordmann skrev:",
    "Den 2. jan. 2026 kl. 10:00 skrev Support <support@example.com>:",
    "man. 2. jan. 2026 kl. 10:00 skrev Support <support@example.com>:",
    "пн, 2 янв. 2026 г. в 10:00, Поддержка <support@example.com>:",
])
def test_trailing_quote_with_attribution_is_removed(attribution):
    text = f"Thanks, it works now.\n\n{attribution}\n> Please restart the router.\n> \n> Support"
    assert strip_quoted(text) == "Thanks, it works now."


def test_attribution_wrapped_over_two_lines_is_removed():
    text = ("Fixed, thanks!\n\nOn Mon, 2 Jan 2026 at 10:00, A very long name <someone@example.com>\n"
            "wrote:\n> old text")
    assert strip_quoted(text) == "Fixed, thanks!"


def test_trailing_quote_without_attribution_is_removed():
    assert strip_quoted("My answer.\n> quoted\n>> older") == "My answer."


def test_interleaved_quotes_are_kept_except_the_trailing_one():
    text = ("On Mon, Support <s@example.com> wrote:\n> Which printer?\nThe one in room 12.\n"
            "> Is it on?\nYes, it is on.\n> Regards\n> Support")
    assert strip_quoted(text) == (
        "On Mon, Support <s@example.com> wrote:\n> Which printer?\nThe one in room 12.\n> Is it on?\nYes, it is on.")


def test_line_above_a_trailing_quote_that_is_not_an_attribution_is_kept():
    text = "Here is the error I get:\n> Error 42: paper jam"
    assert strip_quoted(text) == "Here is the error I get:"


@pytest.mark.parametrize("separator", [
    "-----Original Message-----",
    "----- Original Message -----",
    "-----Opprinnelig melding-----",
    "-----Исходное сообщение-----",
])
def test_outlook_original_message_block_is_removed(separator):
    text = f"New question below.\n\nRegards, Ola\n\n{separator}\nFrom: Support\nSent: Monday\n\nOld text"
    assert strip_quoted(text) == "New question below.\n\nRegards, Ola"


@pytest.mark.parametrize("from_line, sent_line", [
    ("From: Support <support@example.com>", "Sent: Monday, January 2, 2026 10:00 AM"),
    ("Fra: Support <support@example.com>", "Sendt: mandag 2. januar 2026 10:00"),
    ("От: Поддержка <support@example.com>", "Отправлено: 2 января 2026 г. 10:00"),
])
def test_outlook_header_block_is_removed(from_line, sent_line):
    text = f"Still broken.\n\n________________________________\n{from_line}\n{sent_line}\nTo: Me\nSubject: Re: x\n\nOld"
    assert strip_quoted(text) == "Still broken."


def test_signature_after_delimiter_is_removed():
    assert strip_quoted("Please help.\n\n-- \nOla Nordmann\nACME AS") == "Please help."


def test_signature_then_quote_are_both_removed():
    text = "Thanks!\n-- \nÅse\n\nOn Mon, X <x@example.com> wrote:\n> old"
    assert strip_quoted(text) == "Thanks!"


def test_dashes_inside_text_are_not_a_signature():
    text = "Step one -- restart\nStep two --- wait"
    assert strip_quoted(text) == text


def test_text_without_quotes_is_unchanged():
    text = "Hello,\n\nmy printer is broken.\n\nRegards\nÅse"
    assert strip_quoted(text) == text


@pytest.mark.parametrize("text", [
    "> everything is quoted\n> really",
    "-- \nonly a signature",
    "-----Original Message-----\nFrom: a\nSent: b\n\nforwarded only",
    "On Mon, X <x@example.com> wrote:\n> just the quote",
    "   ",
])
def test_never_returns_empty_for_non_empty_input(text):
    assert strip_quoted(text) != ""
    assert strip_quoted(text) == text


def test_crlf_input_is_handled():
    assert strip_quoted("Answer\r\n\r\nOn Mon, X <x@example.com> wrote:\r\n> q\r\n") == "Answer"


def test_unchanged_text_keeps_its_line_endings():
    assert strip_quoted("a\r\nb\r\n") == "a\r\nb\r\n"


def test_customer_line_above_a_one_line_attribution_is_kept():
    text = "2 printers are broken.\nOla Nordmann skrev:\n> Which ones?"
    assert strip_quoted(text) == "2 printers are broken."


@pytest.mark.parametrize("text, visible", [
    ("The printer on floor 3 is offline.\n\nBest regards,\nJohn Smith\nACME Ltd.\n+47 22 33 44 55",
     "The printer on floor 3 is offline."),
    ("Could you reset my password?\n\nKind regards\nJohn", "Could you reset my password?"),
    ("Could you reset my password?\n\nSent from my iPhone", "Could you reset my password?"),
    ("The invoice is wrong.\n---\nJohn Smith\nAccounts", "The invoice is wrong."),
    ("The invoice is wrong.\n________\nJohn Smith", "The invoice is wrong."),
    ("The invoice is wrong.\n--   \nJohn Smith", "The invoice is wrong."),
    ("Принтер не печатает.\n\nС уважением,\nИван Петров\nООО «Ромашка»", "Принтер не печатает."),
    ("Пароль не подходит.\n\nОтправлено с iPhone", "Пароль не подходит."),
    ("Пароль не подходит.\n\nВсего доброго,\nОльга", "Пароль не подходит."),
    ("Skriveren skriver ikke ut.\n\nMed vennlig hilsen\nÅse Ødegård\nKommune AS", "Skriveren skriver ikke ut."),
    ("Skriveren skriver ikke ut.\n\nMvh Silje Moen", "Skriveren skriver ikke ut."),
    ("Skriveren skriver ikke ut.\n\nSendt fra min iPhone", "Skriveren skriver ikke ut."),
    ("Thanks!\n\nBest regards,\nKari\n\nOn Mon, X <x@example.com> wrote:\n> old", "Thanks!"),
])
def test_a_signature_without_a_delimiter_at_the_end_is_folded(text, visible):
    assert strip_quoted(text) == visible


@pytest.mark.parametrize("text", [
    # A closing phrase with real content after it, or too far from the end, is the writer's text.
    "Best regards,\nJohn\n\nPS: the error code is 0x80070005 and it happens every morning at nine o'clock sharp.",
    "Line 1\nBest regards,\nJohn\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9",
    # A bare closing without a name, and a rule above figures, stay.
    "Please call me back.\n\nС уважением",
    "Total\n-----\n42 kr",
    # Phrases inside sentences are not closings.
    "I sent from my iPhone a photo of the error, but it never arrived.",
    "Jeg vil sende med vennlig hilsen til teamet: dere var raske i går, takk for hjelpen med skriveren.",
    "Hello,\n\nmy printer is broken.\n\nRegards\nÅse",
])
def test_content_that_only_looks_like_a_signature_is_kept(text):
    assert strip_quoted(text) == text
