"""redact(): customer specifics out of knowledge-article drafts, and a report of what went."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.knowledge.redact import KINDS, PLACEHOLDERS, Redacted, Removed, redact


def removed_texts(result: Redacted, kind: str) -> list[str]:
    return [item.text for item in result.removed if item.kind == kind]


# E-mail addresses ------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "john.smith@acme.com",
    "first+tag@sub.example.co.uk",
    "åse@døgn.no",
    "kari.nordmann@firma.no",
    "иван@почта.рф",
    "o'brien@example.ie",
])
def test_email_addresses_become_a_placeholder(address):
    result = redact(f"Please reply to {address} when it is fixed.")
    assert result.text == "Please reply to [email] when it is fixed."
    assert result.removed == (Removed("email", address),)


@pytest.mark.parametrize("text, expected", [
    ("Write to <john@acme.com>.", "Write to <[email]>."),
    ("(kari@firma.no)", "([email])"),
    ("mailto:anna@example.com, please", "mailto:[email], please"),
    ("Пишите на иван@почта.рф.", "Пишите на [email]."),
])
def test_email_addresses_end_at_surrounding_punctuation(text, expected):
    assert redact(text).text == expected


def test_chained_at_signs_leave_no_address_behind():
    assert redact("odd: x@y.com@z.org here").text == "odd: [email] here"


def test_npm_style_version_is_not_an_address():
    assert redact("installed left-pad@1.3.0 today").text == "installed left-pad@1.3.0 today"


def test_credentials_in_a_url_are_removed_but_the_host_is_kept():
    result = redact("Log in at https://bob:s3cret@portal.example.com/admin to see it.")
    assert result.text == "Log in at https://[credentials]@portal.example.com/admin to see it."
    assert result.removed == (Removed("url-with-credentials", "bob:s3cret"),)


def test_plain_url_is_kept():
    text = "See https://portal.example.com/help?topic=printers#setup for details."
    assert redact(text) == Redacted(text, ())


# Phone numbers ------------------------------------------------------------------

@pytest.mark.parametrize("number", [
    "+47 912 34 567",
    "912 34 567",
    "+47 22 12 34 56",
    "22 12 34 56",
    "+7 (495) 123-45-67",
    "8 (495) 123-45-67",
    "8 800 555-35-35",
    "8-916-123-45-67",
    "+7 916 123-45-67",
    "(555) 123-4567",
    "555-123-4567",
    "1-800-555-1234",
    "+1 555 123 4567",
    "+44 20 7946 0958",
    "+44 (0)20 7946 0958",
    "020 7946 0958",
    "+4791234567",
])
def test_phone_numbers_in_common_forms_become_a_placeholder(number):
    result = redact(f"Call me on {number}, any time.")
    assert result.text == "Call me on [phone], any time."
    assert result.removed == (Removed("phone", number),)


@pytest.mark.parametrize("text, expected", [
    ("Tlf: 91234567", "Tlf: [phone]"),
    ("tel. 91234567", "tel. [phone]"),
    ("Телефон: 89161234567", "Телефон: [phone]"),
    ("Mobil 91234567", "Mobil [phone]"),
])
def test_unseparated_number_after_a_phone_label_is_a_phone(text, expected):
    assert redact(text).text == expected


def test_unseparated_number_without_a_label_is_kept():
    assert redact("Order 91234567 arrived.").text == "Order 91234567 arrived."


@pytest.mark.parametrize("text", [
    "Windows 10.0.19045 build, client v2.3.1 and 1.2.3.4567",
    "It started 2026-11-30 and again 30.11.2026, then 11/30/2026.",
    "Logged at 2026-11-30 14:05:33 and 2026-11-30 14:05.",
    "Between 09:00 and 17:30, or 9.00-17.30.",
    "The server 192.168.100.200 and 10.0.0.1 answer; 2001:db8::1 does not.",
    "Error 0x80070005, then E-502, then ERR-404-500, then 0xC004F074.",
    "It printed 3 pages, then 12 pages, then 250 pages.",
    "Since 2019, 2020 and 2023 2024 it has been fine.",
    "Our HP LaserJet M404dn and LaserJet Pro MFP M428fdw and Canon iR-ADV C5535i.",
    "Update KB5032189 and KB 5032189 failed.",
    "The budget is 1 500 000 kr, or 15 000 000 рублей.",
    "Ports 8080 8443 9000 and status 404 500 503.",
    "Serial 1234-5678-9012 and order 91234567.",
    "Ubuntu 22.04.3 LTS with kernel 6.5.0-35-generic.",
    "Room 12, floor 3, building 7.",
])
def test_numbers_that_are_not_phones_are_kept(text):
    assert redact(text) == Redacted(text, ())


# Ticket references -----------------------------------------------------------------

@pytest.mark.parametrize("reference", [
    "[#10001]",
    "#10001",
    "ticket 10001",
    "Ticket #10001",
    "ticket no. 10001",
    "case 10001",
    "заявка 10001",
    "заявке №10001",
    "Заявку № 10001",
    "sak 10001",
    "saksnummer 10001",
    "Sak nr. 10001",
])
def test_ticket_references_become_a_placeholder(reference):
    result = redact(f"As in {reference}, the same again.")
    assert result.text == "As in [ticket], the same again."
    assert result.removed == (Removed("ticket-ref", reference),)


def test_configured_tag_format_is_recognised():
    result = redact("Re: PD-10001 still broken", tag_format="PD-{ref}")
    assert result.text == "Re: [ticket] still broken"
    assert result.removed == (Removed("ticket-ref", "PD-10001"),)


def test_default_tag_is_not_special_under_another_format():
    assert redact("Re: [#10001]", tag_format="PD-{ref}").text == "Re: [[ticket]]"


@pytest.mark.parametrize("text", ["ticket 12 and case 42", "sak 7, заявка 99", "#12 on the list", "in case you wonder"])
def test_short_numbers_after_ticket_words_are_kept(text):
    assert redact(text) == Redacted(text, ())


# Names -------------------------------------------------------------------------

@pytest.mark.parametrize("name, text, expected", [
    ("John Smith", "John Smith called; john said smith's printer is down.",
     "[name] called; [name] said [name]'s printer is down."),
    ("Åse Ødegård", "Åse Ødegård har problemer. ÅSE sier at Ødegård sin PC er treg.",
     "[name] har problemer. [name] sier at [name] sin PC er treg."),
    ("Иван Петров", "Иван Петров пишет, что иван не может войти.", "[name] пишет, что [name] не может войти."),
])
def test_full_names_and_their_parts_are_removed_in_any_case(name, text, expected):
    assert redact(text, [name]).text == expected


def test_name_inside_a_longer_word_is_kept_but_the_whole_word_goes():
    result = redact("Mark marked the mark on Markus' desk.", ["Mark"])
    assert result.text == "[name] marked the [name] on Markus' desk."
    assert result.removed == (Removed("name", "Mark"), Removed("name", "mark"))


@pytest.mark.parametrize("inflected", ["Ивана", "Ивану", "Иваном", "Иване", "Петрова", "Петрову", "Петровым"])
def test_russian_masculine_name_in_other_cases_is_removed(inflected):
    assert redact(f"Передайте это: {inflected}.", ["Иван Петров"]).text == "Передайте это: [name]."


@pytest.mark.parametrize("inflected", ["Анны", "Анне", "Анну", "Анной"])
def test_russian_feminine_name_in_other_cases_is_removed(inflected):
    assert redact(f"Ноутбук {inflected} не включается.", ["Анна"]).text == "Ноутбук [name] не включается."


@pytest.mark.parametrize("name, inflected", [("Андрей", "Андрея"), ("Игорь", "Игорем"), ("Мария", "Марии"),
                                             ("Достоевский", "Достоевскому")])
def test_other_russian_declensions_are_removed(name, inflected):
    assert redact(f"Спросите {inflected}.", [name]).text == "Спросите [name]."


def test_inflected_name_and_surname_go_as_one():
    result = redact("Позвоните Ивану Петрову.", ["Иван Петров"])
    assert result.text == "Позвоните [name]."
    assert result.removed == (Removed("name", "Ивану Петрову"),)


def test_lower_case_word_that_looks_inflected_is_kept():
    assert redact("Роман прочитал два романа.", ["Роман"]).text == "[name] прочитал два романа."


def test_norwegian_genitive_is_removed():
    result = redact("Åses skjerm flimrer.", ["Åse Ødegård"])
    assert result.text == "[name] skjerm flimrer."
    assert result.removed == (Removed("name", "Åses"),)


def test_name_parts_shorter_than_two_characters_are_skipped():
    assert redact("J Smith says plan J failed.", ["J. Smith"]).text == "J [name] says plan J failed."


def test_hyphenated_name_and_its_halves_are_removed():
    assert redact("Anne-Marie and Marie both.", ["Anne-Marie Olsen"]).text == "[name] and [name] both."


def test_name_matches_decomposed_text_too():
    assert redact("A\u030ase Ødegård ringte.", ["Åse Ødegård"]).text == "[name] ringte."


def test_no_names_means_no_name_removal():
    assert redact("John Smith called.") == Redacted("John Smith called.", ())


# Greetings ----------------------------------------------------------------------

@pytest.mark.parametrize("greeting", [
    "Hi Anna,", "Hello,", "Dear support,", "Dear Sir or Madam,", "Hi there!", "Good morning,",
    "Hei,", "Hei Åse!", "God dag", "Hei alle sammen!",
    "Здравствуйте!", "Добрый день, коллеги!", "Привет,", "Доброе утро!",
])
def test_greeting_line_at_the_top_is_removed_whole(greeting):
    result = redact(f"{greeting}\n\nThe printer on floor 3 jams.")
    assert result.text == "The printer on floor 3 jams."
    assert result.removed == (Removed("greeting", greeting),)


@pytest.mark.parametrize("text", [
    "Hello, my printer won't print anything since Monday.",
    "Hi, can you reset my password?",
    "Hello, printer not working",
    "Hei, skriveren på kontoret skriver ut tomme ark hver gang jeg prøver.",
    "Добрый день, у меня не работает почта уже второй день подряд.",
])
def test_greeting_that_opens_a_sentence_is_kept(text):
    assert redact(text) == Redacted(text, ())


def test_greeting_words_further_down_are_kept():
    text = "The screen says\nHello\nand then freezes."
    assert redact(text).text == text


# Signatures and sign-offs ------------------------------------------------------

BODY = "The VPN drops every hour."


@pytest.mark.parametrize("signature", [
    "Thanks, John",
    "Thanks!",
    "Best regards",
    "Kind regards,\nJohn Smith",
    "Regards,\nJohn Smith\nACME Ltd\n+47 912 34 567\njohn@acme.com",
    "Med vennlig hilsen\nÅse",
    "Mvh Åse",
    "Hilsen Kari",
    "Takk for hjelpen!",
    "С уважением,\nИван Петров",
    "Спасибо!",
    "Заранее спасибо,\nАнна",
    "Thanks!\n\nBest regards,\nJohn",
])
def test_sign_off_block_at_the_end_is_removed_whole(signature):
    result = redact(f"{BODY}\n\n{signature}")
    assert result.text == BODY
    assert result.removed == (Removed("signature", signature),)


def test_signature_delimiter_removes_everything_after_it():
    sig = "-- \nJohn Smith | Senior Systems Administrator, ACME Ltd, Storgata 1, 0155 Oslo\nThis e-mail is confidential."
    result = redact(f"{BODY}\n{sig}")
    assert result.text == BODY
    assert result.removed == (Removed("signature", sig.strip()),)


def test_sign_off_and_delimiter_go_as_one_block():
    result = redact(f"{BODY}\n\nCheers,\nJohn\n-- \nACME Ltd")
    assert result.text == BODY
    assert result.removed == (Removed("signature", "Cheers,\nJohn\n-- \nACME Ltd"),)


@pytest.mark.parametrize("line", ["Sent from my iPhone", "Отправлено с iPhone", "Sendt fra min iPhone",
                                  "Get Outlook for Android"])
def test_sent_from_lines_are_removed(line):
    result = redact(f"{BODY}\n\n{line}")
    assert result.text == BODY
    assert result.removed == (Removed("signature", line),)


def test_sign_off_followed_by_more_than_a_few_lines_is_kept():
    text = "Thanks,\nalso:\n1. a\n2. b\n3. c\n4. d\n5. e"
    assert redact(f"{BODY}\n{text}").text == f"{BODY}\n{text}"


def test_sign_off_followed_by_a_long_line_is_kept():
    text = f"{BODY}\nThanks!\nOne more thing: the error only happens when I am connected through the hotel Wi-Fi."
    assert redact(text).text == text


def test_thanks_that_carries_content_is_kept():
    text = f"{BODY}\nThanks, that fixed it"
    assert redact(text).text == text


def test_message_that_is_all_signature_keeps_every_line():
    result = redact("Thanks!\nJohn\n\nSent from my iPhone", ["John"])
    assert result.text == "Thanks!\n[name]\n\nSent from my iPhone"
    assert result.removed == (Removed("name", "John"),)


# Keeping something -------------------------------------------------------------

def test_message_of_only_greeting_and_signature_keeps_its_text_with_placeholders():
    result = redact("Hi Anna,\n\nThanks,\nJohn Smith\njohn@acme.com", ["John Smith", "Anna"])
    assert result.text == "Hi [name],\n\nThanks,\n[name]\n[email]"
    assert result.removed == (Removed("name", "Anna"), Removed("name", "John Smith"), Removed("email", "john@acme.com"))


@pytest.mark.parametrize("text, expected", [
    ("Hello", "Hello"),
    ("Спасибо!", "Спасибо!"),
    ("-- \nJohn", "--\nJohn"),
    ("Sent from my iPhone", "Sent from my iPhone"),
    ("Hei Åse!\nMvh Kari", "Hei Åse!\nMvh Kari"),
])
def test_text_that_would_vanish_entirely_is_kept(text, expected):
    assert redact(text).text == expected


def test_blank_input_gives_blank_output():
    assert redact(" \n\t\n") == Redacted("", ())


# Layout and reporting -------------------------------------------------------------

def test_line_breaks_are_kept_and_blank_runs_collapse():
    text = "\n\n  First line\nsecond line   \n\n\n\nthird\n\n\n"
    assert redact(text).text == "First line\nsecond line\n\nthird"


def test_windows_line_endings_are_normalised():
    assert redact("Hi,\r\n\r\nline one\r\nline two\r\n").text == "line one\nline two"


def test_removals_are_in_order_of_appearance_and_distinct():
    result = redact("john@acme.com, 555-123-4567, john@acme.com, #10001, 555-123-4567, John, john", ["John"])
    assert result.removed == (
        Removed("email", "john@acme.com"),
        Removed("phone", "555-123-4567"),
        Removed("ticket-ref", "#10001"),
        Removed("name", "John"),
        Removed("name", "john"),
    )


def test_every_reported_kind_is_listed_and_every_placeholder_kind_is_a_kind():
    result = redact(WHOLE_ENGLISH_MAIL + "\nhttps://u:p@host.example.com", ["John Smith", "Anna"])
    assert {item.kind for item in result.removed} <= set(KINDS)
    assert set(PLACEHOLDERS) <= set(KINDS)


# Whole mails -----------------------------------------------------------------------

WHOLE_ENGLISH_MAIL = """Hi Anna,

Since the update to KB5032189 on Windows 10.0.19045 my HP LaserJet M404dn
prints 3 pages and then stops with error 0x80070005. John Smith from
accounting has the same problem (see ticket #10001).

I restarted the print spooler at 09:30 on 2026-11-30; it helped for an hour.
You can reach me on +47 912 34 567 or john.smith@acme.com.

Best regards,
John Smith
ACME Ltd
+47 22 12 34 56
john.smith@acme.com
"""


def test_whole_english_mail():
    result = redact(WHOLE_ENGLISH_MAIL, ["John Smith", "Anna"])
    assert result.text == (
        "Since the update to KB5032189 on Windows 10.0.19045 my HP LaserJet M404dn\n"
        "prints 3 pages and then stops with error 0x80070005. [name] from\n"
        "accounting has the same problem (see [ticket]).\n"
        "\n"
        "I restarted the print spooler at 09:30 on 2026-11-30; it helped for an hour.\n"
        "You can reach me on [phone] or [email]."
    )
    assert result.removed == (
        Removed("greeting", "Hi Anna,"),
        Removed("name", "John Smith"),
        Removed("ticket-ref", "ticket #10001"),
        Removed("phone", "+47 912 34 567"),
        Removed("email", "john.smith@acme.com"),
        Removed("signature", "Best regards,\nJohn Smith\nACME Ltd\n+47 22 12 34 56\njohn.smith@acme.com"),
    )


WHOLE_RUSSIAN_MAIL = """Добрый день, коллеги!

После обновления Outlook 16.0.17029 у Ивана Петрова не открывается почта,
ошибка 0x800CCC0E. Подробности в заявке №10002, сервер 10.0.0.25.

Перезагрузка 30.11.2026 не помогла. Звоните: +7 (495) 123-45-67,
пишите на иван@почта.рф.

С уважением,
Иван Петров
ООО «Ромашка»
8 800 555-35-35
"""


def test_whole_russian_mail():
    result = redact(WHOLE_RUSSIAN_MAIL, ["Иван Петров"])
    assert result.text == (
        "После обновления Outlook 16.0.17029 у [name] не открывается почта,\n"
        "ошибка 0x800CCC0E. Подробности в [ticket], сервер 10.0.0.25.\n"
        "\n"
        "Перезагрузка 30.11.2026 не помогла. Звоните: [phone],\n"
        "пишите на [email]."
    )
    assert result.removed == (
        Removed("greeting", "Добрый день, коллеги!"),
        Removed("name", "Ивана Петрова"),
        Removed("ticket-ref", "заявке №10002"),
        Removed("phone", "+7 (495) 123-45-67"),
        Removed("email", "иван@почта.рф"),
        Removed("signature", "С уважением,\nИван Петров\nООО «Ромашка»\n8 800 555-35-35"),
    )


WHOLE_NORWEGIAN_MAIL = """Hei!

Åses PC (Lenovo T14 Gen 3) får ikke koblet til VPN etter oppdatering til
versjon 5.1.2. Feilkode E-502 kommer hver gang, se sak 10003.

Jeg har prøvd 3 ganger i dag, sist kl. 14:05. Ring meg på 912 34 567
eller send e-post til åse@døgn.no.

Med vennlig hilsen
Åse Ødegård
Døgn AS
Tlf: 91234567

Sendt fra min iPhone
"""


def test_whole_norwegian_mail():
    result = redact(WHOLE_NORWEGIAN_MAIL, ["Åse Ødegård"])
    assert result.text == (
        "[name] PC (Lenovo T14 Gen 3) får ikke koblet til VPN etter oppdatering til\n"
        "versjon 5.1.2. Feilkode E-502 kommer hver gang, se [ticket].\n"
        "\n"
        "Jeg har prøvd 3 ganger i dag, sist kl. 14:05. Ring meg på [phone]\n"
        "eller send e-post til [email]."
    )
    assert result.removed == (
        Removed("greeting", "Hei!"),
        Removed("name", "Åses"),
        Removed("ticket-ref", "sak 10003"),
        Removed("phone", "912 34 567"),
        Removed("email", "åse@døgn.no"),
        Removed("signature", "Med vennlig hilsen\nÅse Ødegård\nDøgn AS\nTlf: 91234567\n\nSendt fra min iPhone"),
    )


def test_agent_note_without_greeting_or_signature():
    note = ("Customer John Smith (john@acme.com, 555-123-4567) could not print.\n"
            "Cleared the spooler queue and reinstalled driver 6.9.0; see also case 10004.")
    result = redact(note, ["John Smith"])
    assert result.text == ("Customer [name] ([email], [phone]) could not print.\n"
                           "Cleared the spooler queue and reinstalled driver 6.9.0; see also [ticket].")


@pytest.mark.timeout(2)
def test_long_pathological_lines_take_linear_time():
    for line in ["a." * 100_000 + "@b", "x@" + "a-" * 100_000, "12 345-6 (78) " * 20_000, "ticket no " * 20_000]:
        assert redact(line, ["John Smith"]).text


# Properties --------------------------------------------------------------------------

# Deliberately written apart from the module's pattern: what a reader would call an address.
ADDRESS_LIKE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")

FRAGMENTS = st.one_of(
    st.text(max_size=20),
    st.emails(),
    st.sampled_from([
        " ", "\n", "\n\n", "\r\n", "@", ".", "-", "Hi,", "Hei Åse!", "Thanks,", "Mvh", "С уважением,", "-- ",
        "Sent from my iPhone", "+47 912 34 567", "2026-11-30", "#10001", "заявке №10001", "åse@døgn.no",
        "иван@почта.рф", "https://u:p@host.example.com/", "Иван", "x@y.com@z.org",
    ]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(FRAGMENTS, max_size=12).map("".join), st.lists(st.text(max_size=12), max_size=3))
def test_redact_never_raises_never_empties_and_never_leaves_an_address(text, names):
    result = redact(text, names)
    assert isinstance(result.text, str)
    if text.strip():
        assert result.text.strip()
    for address in ADDRESS_LIKE.findall(text):
        assert address not in result.text
    assert not ADDRESS_LIKE.search(result.text)
    assert all(item.kind in KINDS and item.text for item in result.removed)


# Identifiers: VAT and organisation numbers, IBANs, cards, national identity numbers, orders ------

@pytest.mark.parametrize("text, kind, taken", [
    ("Our VAT id is DE123456789, please correct it.", "vat-id", "DE123456789"),
    ("VAT: GB 123456789.", "vat-id", "GB 123456789"),
    ("Fakturer NO 923 609 016 MVA i stedet.", "vat-id", "NO 923 609 016 MVA"),
    ("Vårt org.nr 923 609 016 står feil.", "vat-id", "923 609 016"),
    ("organisasjonsnummer: 923609016", "vat-id", "923609016"),
    ("Momsnummer SE556036079301 på fakturan.", "vat-id", "SE556036079301"),
    ("Betal til NO93 8601 1117 947 i dag.", "iban", "NO93 8601 1117 947"),
    ("IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX.", "iban", "DE89 3704 0044 0532 0130 00"),
    ("Account GB82WEST12345698765432.", "iban", "GB82WEST12345698765432"),
    ("The card 4111 1111 1111 1111 was charged twice.", "card", "4111 1111 1111 1111"),
    ("Kort 5555555555554444 ble belastet.", "card", "5555555555554444"),
    ("Amex 3714 496353 98431 declined.", "card", "3714 496353 98431"),
    ("Fødselsnummer 01129910042, takk.", "id-number", "01129910042"),
    ("fnr 011299 10042", "id-number", "011299 10042"),
    ("Personnummer 811218-9876 stämmer inte.", "id-number", "811218-9876"),
    ("personnummer 19811218-9876", "id-number", "19811218-9876"),
    ("CPR 010203-1234 er mit nummer.", "id-number", "010203-1234"),
    ("СНИЛС 112-233-445 95 указан неверно.", "id-number", "112-233-445 95"),
    ("ИНН 7707083893, КПП 773601001.", "id-number", "7707083893"),
    ("паспорт 4510 123456 выдан", "id-number", "4510 123456"),
    ("Паспорт серии 45 10 № 123456.", "id-number", "45 10 № 123456"),
])
def test_identifiers_become_placeholders(text, kind, taken):
    result = redact(text)
    assert removed_texts(result, kind) == [taken], result
    assert taken not in result.text and PLACEHOLDERS[kind] in result.text


@pytest.mark.parametrize("text", [
    "The IBAN NO93 8601 1117 948 fails its check.",  # one digit off: not an IBAN
    "Card 4111 1111 1111 1112 does not pass Luhn.",
    "Fødselsnummer 01129910043 har feil kontrollsiffer.",
    "Personnummer 811218-9877 stämmer inte.",
    "Bestilling 123456-7890 kom ikke.",  # no such date: no CPR number
    "Version 10.0.19045.3693, build 22631, KB5034441, Windows 11 23H2.",
    "1 500 000 kr on 2026-11-30 at 14:05, 12.5 % of 4111.",
    "Serial SN4111111111111111X, invoice 2024-000123, ISO 9001, port 8080.",
    "The number 7707083893 without its label is nobody's INN.",
])
def test_numbers_that_are_not_identifiers_stay(text):
    result = redact(text)
    assert [r for r in result.removed if r.kind in ("vat-id", "iban", "card", "id-number")] == [], result.removed


def test_order_numbers_by_the_teams_pattern():
    text = "Ordre ORD-123456 og ORD-654321 kom ikke; XORD-123456 er noe annet."
    result = redact(text, order_pattern=r"ORD-[0-9]{6}")
    assert removed_texts(result, "order") == ["ORD-123456", "ORD-654321"]
    assert result.text == "Ordre [order] og [order] kom ikke; XORD-123456 er noe annet."
    assert redact(text).text == text  # no pattern, no orders
    assert redact(text, order_pattern="(").text == text  # a bad pattern (refused at start) breaks nothing


def test_our_own_addresses_stay_and_everyone_elses_go():
    text = ("Confirm the mail from noreply@portal.example.com, or write to help@example.org; "
            "not to kari@customer.no or admin@portal.example.com.evil.net.")
    result = redact(text, keep_domains=["portal.example.com", "example.org"])
    assert "noreply@portal.example.com" in result.text and "help@example.org" in result.text
    assert removed_texts(result, "email") == ["kari@customer.no", "admin@portal.example.com.evil.net"]
    assert removed_texts(redact("Log in as a@eu.portal.example.com", keep_domains=["portal.example.com"]),
                         "email") == []


def test_third_persons_go_whole_or_by_their_last_name_and_common_words_stay():
    text = ("Per Olsen i regnskap bekreftet; spør Olsen eller per e-post. Ивану Петрову передали, "
            "Петров согласен. The olsen twins are no people of ours.")
    result = redact(text, full_names=["Per Olsen", "Иван Петров"])
    assert removed_texts(result, "name") == ["Per Olsen", "Olsen", "Ивану Петрову", "Петров"]
    assert "spør [name] eller per e-post" in result.text and "The olsen twins" in result.text


@pytest.mark.parametrize("signature, names", [
    ("Med vennlig hilsen\nPer Olsen\nRegnskap\nTlf 22 33 44 55", ("Per Olsen",)),
    ("Best regards,\nSupport Team\nACME Ltd", ()),
    ("С уважением,\nИван Петров\nотдел продаж", ("Иван Петров",)),
    ("Thanks, John Smith", ("John Smith",)),
    ("--\nAnna Berg\nDaglig leder", ("Anna Berg",)),
])
def test_the_names_under_a_signature_are_found(signature, names):
    from daemon.knowledge.redact import signature_names
    assert signature_names(f"The printer is offline again.\n\n{signature}") == names


def test_a_line_left_with_only_placeholders_and_labels_is_dropped_and_nothing_else():
    text = ("Принтер не печатает после обновления.\nИван Петров, тел. +7 916 123-45-67\nE-post: kari@kunde.no\n"
            "Ring meg på 22 33 44 55 i dag.")
    result = redact(text, names=["Иван Петров"])
    assert result.text == "Принтер не печатает после обновления.\nRing meg på [phone] i dag."
    assert result.occurrences == (Removed("phone", "22 33 44 55"),)  # the placeholders left in the text
    assert {r.kind for r in result.removed} == {"name", "phone", "email"}  # everything taken out is reported
    assert redact("tel. +47 22 33 44 55").text == "tel. [phone]"  # all there is: kept, never emptied


def test_what_the_agent_wrote_as_steps_or_as_a_diary_is_told_apart():
    from daemon.knowledge.voice import reads_as_diary
    for diary in ("Called Kari, opened the settings, reinstalled the driver.",
                  "I restarted the spooler and it worked.",
                  "Ringte kunden, åpnet innstillingene og installerte driveren på nytt.",
                  "Позвонил клиенту, открыл настройки, переустановил драйвер."):
        assert reads_as_diary(diary), diary
    for steps in ("Open Devices.\nRemove the printer.\nInstall the vendor driver again.",
                  "Åpne Enheter. Fjern skriveren. Installer driveren på nytt.",
                  "Откройте «Устройства». Удалите принтер. Установите драйвер заново.",
                  "Delete the cached credentials. Update Outlook. Create a new profile.",
                  "Ask the user to log in again. Reset the password if needed.", ""):
        assert not reads_as_diary(steps), steps
