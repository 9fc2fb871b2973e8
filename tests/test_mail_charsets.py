"""Charset labels, tolerant byte decoding and RFC 2047 header decoding."""

from __future__ import annotations

import pytest

from daemon.mail import charset_decode, charset_opinion, charsets
from daemon.mail.charsets import decode_bytes, decode_header_value, decode_header_with_notes, python_codec
from tests.corpus import (
    CHINESE_SUBJECT, JAPANESE_SUBJECT, KOREAN_SUBJECT, NORWEGIAN_BODY, NORWEGIAN_SUBJECT, RUSSIAN_BODY,
    RUSSIAN_SUBJECT, TRADITIONAL_SUBJECT, encoded_word, encoded_word_bytes,
)

# ---------------------------------------------------------------------------
# Labels.


@pytest.mark.parametrize("label, codec", [
    ("utf-8", "utf-8"), ("UTF-8", "utf-8"), ("utf8", "utf-8"), ("UTF-8'", "utf-8"), ('"utf-8"', "utf-8"),
    (" 'UTF8' ", "utf-8"),
    ("koi8-r", "koi8-r"), ("windows-1251", "cp1251"), ("cp-1251", "cp1251"), ("win-1251", "cp1251"),
    ("x-cp1251", "cp1251"), ("CP1251", "cp1251"),
    ("iso-8859-1", "cp1252"), ("ISO8859-1", "cp1252"), ("iso_8859-1:1987", "cp1252"), ("latin1", "cp1252"),
    ("latin-1", "cp1252"), ("windows-1252", "cp1252"),
    ("iso-2022-jp", "iso2022_jp"), ("iso-8859-5", "iso8859-5"), ("cp866", "cp866"), ("ibm866", "cp866"),
    ("gb2312", "gb18030"), ("GBK", "gb18030"), ("big5", "big5hkscs"), ("shift_jis", "cp932"),
    ("x-sjis", "cp932"), ("Windows-31J", "cp932"), ("euc-kr", "cp949"), ("ks_c_5601-1987", "cp949"),
    ("iso-8859-15", "iso8859-15"), ("windows-874", "cp874"), ("iso-8859-8-i", "iso8859-8"),
    ("iso-8859-8-e", "iso8859-8"), ("x-mac-cyrillic", "mac_cyrillic"), ("us-ascii", "ascii"),
])
def test_labels_map_to_python_codecs(label, codec):
    assert python_codec(label) == codec


@pytest.mark.parametrize("label", [
    None, "", "x-user-defined", "unknown-8bit", "x-unknown", "unknown", "x-klingon", "base64", "rot13",
    "undefined", "unicode_escape", "idna", "\x00\xff", "a" * 500,
])
def test_unknown_or_non_text_labels_map_to_none(label):
    assert python_codec(label) is None


# ---------------------------------------------------------------------------
# Bodies.


@pytest.mark.parametrize("label, codec, text", [
    ("utf-8", "utf-8", RUSSIAN_BODY),
    ("koi8-r", "koi8_r", RUSSIAN_BODY),
    ("windows-1251", "cp1251", RUSSIAN_BODY),
    ("iso-8859-1", "latin-1", NORWEGIAN_BODY),
    ("iso-2022-jp", "iso2022_jp", JAPANESE_SUBJECT),
    ("iso-8859-5", "iso8859_5", RUSSIAN_BODY),
    ("cp866", "cp866", RUSSIAN_BODY),
    ("gb2312", "gb2312", CHINESE_SUBJECT),
    ("big5", "big5", TRADITIONAL_SUBJECT),
    ("shift_jis", "shift_jis", JAPANESE_SUBJECT),
    ("euc-kr", "euc_kr", KOREAN_SUBJECT),
    ("iso-8859-15", "iso8859_15", "Pris 100 € for blåbær"),
    ("windows-874", "cp874", "สวัสดีครับ"),
    ("x-mac-cyrillic", "mac_cyrillic", RUSSIAN_BODY),
    ("Windows-31J", "cp932", "①②"),
    ("ks_c_5601-1987", "cp949", KOREAN_SUBJECT),
])
def test_declared_charsets_decode_without_note(label, codec, text):
    assert decode_bytes(text.encode(codec), label) == (text, None)


def test_iso_8859_1_is_decoded_as_windows_1252():
    assert decode_bytes(b"\x80 \x93quoted\x94 \xe6\xf8\xe5", "iso-8859-1") == ("€ “quoted” æøå", None)


def test_windows_1252_undefined_bytes_do_not_fail():
    text, note = decode_bytes(b"a\x81b\x9dc", "windows-1252")
    assert text == "a\x81b\x9dc" and note is None


def test_iso_2022_jp_with_halfwidth_katakana_uses_a_superset():
    data = "ｱｲｳ日本".encode("iso2022_jp_ext")
    assert decode_bytes(data, "iso-2022-jp") == ("ｱｲｳ日本", None)


def test_missing_charset_tries_strict_utf8_first_silently():
    assert decode_bytes(NORWEGIAN_BODY.encode("utf-8"), None) == (NORWEGIAN_BODY, None)


def test_missing_charset_ascii_is_plain():
    assert decode_bytes(b"plain ascii", None) == ("plain ascii", None)


def test_missing_charset_detects_windows_1251_with_note():
    text, note = decode_bytes(RUSSIAN_BODY.encode("cp1251"), None)
    assert text == RUSSIAN_BODY
    assert note == "charset missing; decoded as windows-1251 (detected)"


def test_a_long_line_without_spaces_does_not_stall_detection():
    # Found by the fuzz test: the word finder backtracked over each run of ASCII without spaces,
    # quadratically; 300,000 characters took many minutes. Now it is one pass.
    body = RUSSIAN_BODY + " " + "a" * 300_000 + " " + RUSSIAN_BODY
    text, note = decode_bytes(body.encode("cp1251"), None)
    assert text == body
    assert note == "charset missing; decoded as windows-1251 (detected)"


@pytest.mark.parametrize("codec", ["koi8_r", "cp1251", "cp1252", "cp866", "iso8859_5"])
def test_missing_charset_detection_per_charset(codec):
    text = NORWEGIAN_BODY if codec == "cp1252" else RUSSIAN_BODY
    decoded, note = decode_bytes(text.encode(codec), None)
    assert decoded == text
    assert "detected" in note


def test_missing_iso_2022_jp_is_recognised_by_its_escapes():
    text, note = decode_bytes(JAPANESE_SUBJECT.encode("iso2022_jp"), None)
    assert text == JAPANESE_SUBJECT
    assert "iso-2022-jp" in note


def test_declared_utf8_that_fails_strict_decoding_is_detected():
    text, note = decode_bytes(RUSSIAN_BODY.encode("cp1251"), "utf-8")
    assert text == RUSSIAN_BODY
    assert note == "charset 'utf-8' did not decode cleanly; decoded as windows-1251 (detected)"


def test_us_ascii_with_8bit_bytes_is_treated_as_unknown():
    text, note = decode_bytes(RUSSIAN_BODY.encode("koi8_r"), "us-ascii")
    assert text == RUSSIAN_BODY
    assert note.startswith("charset 'us-ascii' did not decode cleanly")


def test_us_ascii_with_utf8_bytes_decodes_as_utf8_with_note():
    assert decode_bytes("Blåbær".encode(), "us-ascii") == (
        "Blåbær", "charset 'us-ascii' did not decode cleanly; decoded as utf-8")


@pytest.mark.parametrize("label", ["x-user-defined", "unknown-8bit", "x-unknown", "unknown", "x-klingon"])
def test_unknown_labels_detect_and_note(label):
    text, note = decode_bytes(RUSSIAN_BODY.encode("cp1251"), label)
    assert text == RUSSIAN_BODY
    assert note == f"charset {label!r} unknown; decoded as windows-1251 (detected)"


def test_windows_1252_with_replacement_is_the_last_resort(monkeypatch):
    monkeypatch.setattr(charset_decode, "detect_codec", lambda data: None)
    text, note = decode_bytes(b"caf\xe9 \x81", None)
    assert text == "café \ufffd"
    assert "windows-1252 with replacement" in note


def test_mostly_utf8_with_a_damaged_byte_is_decoded_as_utf8_with_replacement():
    data = "Blåbærsyltetøy på brødskiva".encode() + b"\xff"
    text, note = decode_bytes(data, None)
    assert text == "Blåbærsyltetøy på brødskiva\ufffd"
    assert "replacement" in note


def test_decode_bytes_never_raises_on_odd_labels_and_data():
    for label in (None, "utf-16", "utf-7", "undefined", "idna", "iso-2022-jp", "\udcff", "hz"):
        for data in (b"\xff\xfe\x00", b"\x1b$B\xff", b"+AGEAYgBj-", bytes(range(256))):
            text, _ = decode_bytes(data, label)
            assert isinstance(text, str)


def test_detection_prefers_plausible_text_for_short_strings():
    for text, codec in (("Привет мир", "cp1251"), ("Привет мир", "koi8_r"), ("Øl", "cp1252"),
                        ("Blåbærsyltetøy", "cp1252"), ("Тест", "koi8_r")):
        assert decode_bytes(text.encode(codec), None)[0] == text


# ---------------------------------------------------------------------------
# Headers.


@pytest.mark.parametrize("charset, codec, text", [
    ("utf-8", "utf-8", RUSSIAN_SUBJECT),
    ("utf-8", "utf-8", NORWEGIAN_SUBJECT),
    ("koi8-r", "koi8_r", RUSSIAN_SUBJECT),
    ("windows-1251", "cp1251", RUSSIAN_SUBJECT),
    ("iso-8859-1", "latin-1", NORWEGIAN_SUBJECT),
    ("iso-8859-1", "latin-1", "æøå ÆØÅ"),
    ("iso-2022-jp", "iso2022_jp", JAPANESE_SUBJECT),
    ("iso-8859-5", "iso8859_5", RUSSIAN_SUBJECT),
    ("cp866", "cp866", RUSSIAN_SUBJECT),
    ("gb2312", "gb2312", CHINESE_SUBJECT),
    ("big5", "big5", TRADITIONAL_SUBJECT),
    ("shift_jis", "shift_jis", JAPANESE_SUBJECT),
    ("euc-kr", "euc_kr", KOREAN_SUBJECT),
    ("iso-8859-15", "iso8859_15", "Blåbær 100 €"),
    ("windows-1252", "cp1252", "“Blåbær” – 5 €"),
])
@pytest.mark.parametrize("encoding", ["B", "Q"])
def test_encoded_words_decode_in_each_charset(charset, codec, text, encoding):
    assert decode_header_value(encoded_word(text, charset, encoding, codec)) == text


def test_adjacent_encoded_words_splitting_a_multibyte_character_are_joined():
    data = "Привет".encode("utf-8")
    value = " ".join(encoded_word_bytes(data[i:i + 3], "utf-8") for i in range(0, len(data), 3))
    assert decode_header_value(value) == "Привет"


def test_split_multibyte_across_q_and_b_words_of_the_same_charset():
    data = "æøå".encode("utf-8")
    value = encoded_word_bytes(data[:1], "UTF-8", "Q") + "\r\n " + encoded_word_bytes(data[1:], "utf-8", "B")
    assert decode_header_value(value) == "æøå"


def test_encoded_words_without_separating_whitespace():
    value = encoded_word("Blå", "utf-8", "Q") + encoded_word("bær", "iso-8859-1", "Q", "latin-1")
    assert decode_header_value(value) == "Blåbær"


def test_whitespace_between_encoded_words_is_dropped_but_kept_next_to_text():
    value = f"Re: {encoded_word('Счёт', 'utf-8')} {encoded_word('№5', 'utf-8')} now"
    assert decode_header_value(value) == "Re: Счёт№5 now"


def test_lowercase_b_and_q():
    assert decode_header_value("=?utf-8?b?w6bDuMOl?= =?utf-8?q?=C3=86?=") == "æøåÆ"


def test_underscore_in_q_is_a_space():
    assert decode_header_value("=?iso-8859-1?Q?Bl=E5_b=E6r?=") == "Blå bær"


def test_encoded_word_with_unknown_charset_does_not_raise():
    assert decode_header_value("=?x-klingon?Q?Qapla=27?=") == "Qapla'"
    assert isinstance(decode_header_value("=?x-klingon?B?/////w==?="), str)


def test_encoded_word_with_language_suffix():
    assert decode_header_value("=?utf-8*no?Q?bl=C3=A5?=") == "blå"


def test_base64_word_with_missing_padding():
    assert decode_header_value("=?utf-8?B?w6bDuMOl?=") == "æøå"
    assert decode_header_value("=?utf-8?B?w6bDuA?=") == "æø"


def test_folding_is_undone():
    assert decode_header_value("Hello\r\n world") == "Hello world"


def test_raw_8bit_utf8_header_via_surrogateescape():
    raw = "Тест принтера".encode("utf-8").decode("ascii", "surrogateescape")
    assert decode_header_value(raw) == "Тест принтера"


def test_raw_8bit_koi8r_header_uses_fallback_label():
    raw = "Тест".encode("koi8_r").decode("ascii", "surrogateescape")
    assert decode_header_value(raw, "koi8-r") == "Тест"


def test_raw_8bit_header_is_detected_without_hint():
    text = "Не работает принтер в бухгалтерии"
    raw = text.encode("cp1251").decode("ascii", "surrogateescape")
    assert decode_header_value(raw) == text


def test_raw_8bit_next_to_encoded_word():
    raw = "Тест ".encode("utf-8").decode("ascii", "surrogateescape") + encoded_word("æøå", "utf-8")
    assert decode_header_value(raw) == "Тест æøå"


@pytest.mark.parametrize("value", [
    "=?", "?=", "=??B??=", "=?utf-8?B?####?=", "=?utf-8?Q?=Z?=", "=?utf-8?X?abc?=", "=?utf-8?B?A?=",
    "=?\udcff?B?abc?=", "\udcff\udcfe", "=?utf-16?B?/w==?=", "=?undefined?Q?a?=",
])
def test_decode_header_value_never_raises(value):
    assert isinstance(decode_header_value(value), str)


def test_encoded_word_decoding_to_crlf_is_returned_as_is_for_the_caller_to_flatten():
    assert decode_header_value("=?utf-8?Q?a=0D=0Ab?=") == "a\r\nb"


def test_lenient_base64_handles_junk_padding_and_truncation():
    assert charsets.decode_base64_lenient(b"YWJj\r\nZA==\r\n") == b"abcd"
    assert charsets.decode_base64_lenient(b"YWJjZA==ZWY=") == b"abcdef"
    assert charsets.decode_base64_lenient(b"YWJ*jZ") == b"abc"
    assert charsets.decode_base64_lenient(b"YWJjZ") == b"abc"


# ---------------------------------------------------------------------------
# A declared single-byte charset that is wrong.

UKRAINIAN_BODY = ("Добрий день! Принтер у бухгалтерії не працює вже третій день. Будь ласка, надішліть "
                  "фахівця якомога швидше. Дякую! З повагою, Олена Їжакевич, Київ, вул. Європейська, 4.")
LOWERCASE_RUSSIAN = ("привет, у нас опять не работает почта. посмотрите, пожалуйста, что случилось с "
                     "сервером: письма не уходят уже второй день. ждём ответа, спасибо")


@pytest.mark.parametrize("text, codec, label, decoded_as", [
    (RUSSIAN_BODY, "cp1251", "iso-8859-1", "windows-1251"),
    (RUSSIAN_BODY, "cp1251", "windows-1252", "windows-1251"),
    (RUSSIAN_BODY, "cp1251", "iso-8859-15", "windows-1251"),
    (RUSSIAN_BODY, "cp1251", "latin1", "windows-1251"),
    (RUSSIAN_BODY, "koi8_r", "iso-8859-1", "koi8-r"),
    (RUSSIAN_BODY, "koi8_r", "windows-1251", "koi8-r"),
    (RUSSIAN_BODY, "cp1251", "koi8-r", "windows-1251"),
    (RUSSIAN_BODY, "cp866", "windows-1251", "cp866"),
    (RUSSIAN_BODY, "cp866", "iso-8859-1", "cp866"),
    (RUSSIAN_BODY, "cp1251", "iso-8859-5", "windows-1251"),
    (RUSSIAN_BODY, "iso8859_5", "windows-1251", "iso-8859-5"),
    (RUSSIAN_BODY, "utf-8", "iso-8859-1", "utf-8"),
    (RUSSIAN_BODY, "utf-8", "windows-1251", "utf-8"),
    (LOWERCASE_RUSSIAN, "koi8_r", "windows-1251", "koi8-r"),
    (UKRAINIAN_BODY, "koi8_u", "koi8-r", "koi8-u"),
    (NORWEGIAN_BODY, "cp1252", "windows-1251", "windows-1252"),
    (NORWEGIAN_BODY, "utf-8", "iso-8859-1", "utf-8"),
])
def test_a_wrong_single_byte_label_is_corrected_with_a_note(text, codec, label, decoded_as):
    assert decode_bytes(text.encode(codec), label) == (
        text, f"declared charset {label!r} looks wrong; decoded as {decoded_as}")


def test_us_ascii_with_windows_1251_bytes_is_detected():
    assert decode_bytes(RUSSIAN_BODY.encode("cp1251"), "us-ascii") == (
        RUSSIAN_BODY, "charset 'us-ascii' did not decode cleanly; decoded as windows-1251 (detected)")


def test_a_long_mislabelled_body_is_judged_by_a_sample_and_decoded_whole():
    text = (RUSSIAN_BODY + "\n") * 200 + "Конец."
    assert decode_bytes(text.encode("cp1251"), "iso-8859-1")[0] == text


# Real text in its correct label must never be switched.  Several sentences each,
# then short lines, then (below) every run of a few words out of them.
CORRECT_LATIN = {
    "norwegian": ("Hei! Skriveren på kontoret i andre etasje virker ikke lenger. Jeg har prøvd å slå den av og "
                  "på, men den skriver fortsatt ut blanke sider. Kan dere sende noen hit så snart som mulig? På "
                  "forhånd takk, og ha en fin dag videre. Vennlig hilsen Bjørn Ødegård, økonomiavdelingen, Tromsø."),
    "norwegian-2": ("Blåbærsyltetøy på brødskiva er godt. Ærlig talt, Åse, vi må få fikset nettet før møtet på "
                    "fredag. Øl og brød til åtte personer står på bordet i første etasje. Hilsen Ørjan Ås."),
    "danish": ("Kære support. Vi har problemer med at logge ind på systemet efter opdateringen i går. "
               "Adgangskoden bliver afvist, selvom den er korrekt, og vores brugere kan ikke se deres sager. "
               "Kan I hjælpe os hurtigst muligt? Med venlig hilsen Søren Kjærgaard, Århus. Rødgrød med fløde."),
    "swedish": ("Hej! Jag försöker återställa mitt lösenord men får inget mejl. Det här är tredje gången jag "
                "försöker under veckan, och nu börjar det bli bråttom eftersom jag inte kommer åt mina ärenden. "
                "Tack på förhand för er hjälp. Med vänliga hälsningar, Åsa Öberg, Göteborg."),
    "german": ("Sehr geehrte Damen und Herren, seit der Umstellung am Wochenende können wir keine Rechnungen "
               "mehr drucken. Der Drucker im Büro zeigt eine Fehlermeldung über einen Papierstau, obwohl kein "
               "Papier im Gerät ist. Könnten Sie bitte möglichst schnell einen Techniker schicken? Das ist "
               "äußerst ärgerlich. Mit freundlichen Grüßen aus München, Jürgen Müller-Lüdenscheidt."),
    "french": ("Bonjour, depuis la mise à jour de lundi, je ne peux plus accéder à mon compte. Le message "
               "d'erreur indique que mon mot de passe a expiré, mais je l'ai changé la semaine dernière. "
               "Pourriez-vous vérifier ce problème et me répondre dès que possible ? Cordialement, Hélène "
               "Lefèvre, Société Générale à Besançon. Déjà vu à l’hôtel, où l’été a été créé."),
    "spanish": ("Hola, buenos días. ¿Podrían ayudarme con un problema? Desde ayer no puedo imprimir ningún "
                "documento en la oficina; la impresora muestra el mensaje «error de conexión» y no responde. "
                "¿Es posible que envíen a un técnico mañana por la mañana? Saludos, José Ángel Muñoz, Cádiz."),
    "finnish": ("Hyvää päivää! Tulostin ei toimi. Yritin käynnistää sen uudelleen, mutta näytöllä näkyy yhä "
                "virheilmoitus. Voisitteko lähettää huoltomiehen tänään? Ystävällisin terveisin, Väinö "
                "Hämäläinen, Jyväskylä. Hääyö ja jäääär."),
    "symbols": ("Prisen er 100 € for æøå, 25 °C ± 2 °C, 5 m², ½ kilo à 3 £ — «sånn» er det. Tilbud: 10 % "
                "rabatt på µ-kontrollere © 2024 ® ™. “Sitat” – og ‘enkelt’… ferdig."),
}
CORRECT_CENTRAL_EUROPEAN = {
    "polish": ("Dzień dobry, od wczoraj nie działa drukarka w naszym biurze. Próbowałem ją wyłączyć i włączyć "
               "ponownie, ale wciąż wyświetla się błąd. Czy mogą Państwo przysłać technika jeszcze dziś? Z "
               "poważaniem, Grzegorz Brzęczyszczykiewicz, Łódź. Zażółć gęślą jaźń, żółty żółw i żółć."),
    "czech": ("Dobrý den, od včerejška nefunguje tiskárna v naší kanceláři. Zkoušel jsem ji vypnout a znovu "
              "zapnout, ale stále hlásí chybu. Mohli byste prosím poslat technika ještě dnes? Příliš "
              "žluťoučký kůň úpěl ďábelské ódy. Děkuji a přeji hezký den, Jiří Dvořák, Brno."),
    "hungarian": ("Jó napot kívánok! A nyomtató tegnap óta nem működik az irodában. Kérem, küldjenek egy "
                  "szerelőt mielőbb. Árvíztűrő tükörfúrógép. Üdvözlettel, Kovács Ödön."),
}
CORRECT_CYRILLIC = {
    "russian": RUSSIAN_BODY,
    "business": ("Добрый день! Прошу выставить счёт на оплату для ООО «Вектор» (ИНН 7701234567, КПП "
                 "770101001). Оплату гарантируем в течение пяти рабочих дней. С уважением, главный бухгалтер "
                 "Ефимова Н. Ю., тел. +7 (495) 123-45-67. ЗАО «ТехноСервис», г. Москва, ул. Ленина, д. 5."),
    "capitals": "ВНИМАНИЕ! СИСТЕМА БУДЕТ НЕДОСТУПНА В СУББОТУ С 10:00 ДО 14:00 ПО МОСКОВСКОМУ ВРЕМЕНИ.",
    "lower-case": LOWERCASE_RUSSIAN,
    "english-words": ("Коллеги, в Excel-файле и в Word'е ошибки. Проверьте, пожалуйста, настройки Outlook и "
                      "VPN-клиента на ноутбуке Dell. Логин: ivanov, пароль сбросил через портал IT-отдела."),
    "rare-letters": ("Эффективность функций шифрования: щелчок, фьючерсы, эффект, цифровая подпись, эхо, "
                     "юрисдикция. Объявление о съёмке фильма «Щукин» в Цюрихе. Шеф съел жёсткую шоколадную "
                     "щуку, эх!"),
    "ukrainian": UKRAINIAN_BODY,
    "camel-case": ("Работаю в МойОфис и КонсультантПлюс, пишите во ВКонтакте или через СберБанк Онлайн. "
                   "Документы в 1С:Предприятие, отчёты в ЭлектроннаяОтчётность."),
    "bulgarian": ("Здравейте! Принтерът в счетоводството не работи. Моля, изпратете техник възможно "
                  "най-скоро. Благодаря ви предварително. Поздрави, Иван Петров, София."),
}
SHORT_CORRECT_LATIN = [
    "Hei, skriveren virker ikke på kontoret", "Grüße aus München", NORWEGIAN_SUBJECT, "Ærlig talt, Åse",
    "Ørjan Ås", "æøå ÆØÅ", "Déjà vu à l'hôtel", "Señor Muñoz, ¿qué tal?", "Smörgåsbord på Öland",
    "Størrelse på æsken", "Müller über Öl", "Fußgängerübergänge", "Äußerst ärgerlich", "Øl og brød til åtte",
    "À bientôt, Hélène", "Año nuevo en España", "Søknad om økt støtte", "Möte i Göteborg på fredag",
    "Rødgrød med fløde", "Hääyö ja jäääär", "Tromsø–Bodø", "Crème brûlée à emporter", "Ça va très bien",
    "GRÜSSE AUS MÜNCHEN: ÄRGERLICH", "BLÅBÆRSYLTETØY PÅ BRØDSKIVA", "æøå blir feil i emnefeltet",
    "Problemer med ÆØÅ i e-post", "ÆØÅ vises som spørsmålstegn", "ÆØÅ æøå",
]
SHORT_CORRECT_CENTRAL_EUROPEAN = ["Zażółć gęślą jaźń", "Żółty żółw", "Żółć", "Łódź, ul. Piękna 5",
                                  "Příliš žluťoučký kůň", "Děkuji, Jiří", "Účetní oddělení – tiskárna nefunguje"]
SHORT_CORRECT_CYRILLIC = [
    RUSSIAN_SUBJECT, "СРОЧНО! НЕ РАБОТАЕТ ПРИНТЕР", "Re: ИНН и КПП для договора", "Привет", "Спасибо!",
    "ООО «Ромашка»: счёт №15 от 12.01.2024", "Тест", "Счёт", "Привет мир", "ВАЖНО", "МВД РФ", "ЭЦП и ФНС",
    "Акт сверки за 2023 г.", "Ошибка 1С: Бухгалтерия", "не работает почта", "ПОЧТА НЕ РАБОТАЕТ",
    "Шеф съел эх", "ЦЮРИХЕ. ШЕФ СЪЕЛ", "Вопрос по счёту",
]
LATIN_LABELS = [("cp1252", "iso-8859-1"), ("cp1252", "windows-1252"), ("iso8859_15", "iso-8859-15"),
                ("cp1252", "latin1")]
CENTRAL_EUROPEAN_LABELS = [("iso8859_2", "iso-8859-2"), ("cp1250", "windows-1250")]
CYRILLIC_LABELS = [("cp1251", "windows-1251"), ("koi8_r", "koi8-r"), ("koi8_u", "koi8-u"),
                   ("iso8859_5", "iso-8859-5"), ("cp866", "cp866"), ("cp866", "ibm866")]


def _correct_cases(texts, labels):
    """(text, codec, label) for each text in each charset that can write it."""
    for text in texts:
        for codec, label in labels:
            try:
                text.encode(codec)
            except UnicodeEncodeError:
                continue  # no mail carries this text in this charset
            yield text, codec, label


CORRECT_CASES = [
    *_correct_cases([*CORRECT_LATIN.values(), *SHORT_CORRECT_LATIN], LATIN_LABELS),
    *_correct_cases([*CORRECT_CENTRAL_EUROPEAN.values(), *SHORT_CORRECT_CENTRAL_EUROPEAN],
                    CENTRAL_EUROPEAN_LABELS),
    *_correct_cases([*CORRECT_CYRILLIC.values(), *SHORT_CORRECT_CYRILLIC], CYRILLIC_LABELS),
]


@pytest.mark.parametrize("text, codec, label", CORRECT_CASES,
                         ids=[f"{label}-{text[:24]}" for text, _, label in CORRECT_CASES])
def test_real_text_in_its_correct_label_is_never_switched(text, codec, label):
    assert decode_bytes(text.encode(codec), label) == (text, None)
    many = (text + "\n") * 20
    assert decode_bytes(many.encode(codec), label) == (many, None)


def test_no_run_of_words_from_real_text_in_its_correct_label_is_switched():
    groups = [(CORRECT_LATIN, LATIN_LABELS), (CORRECT_CENTRAL_EUROPEAN, CENTRAL_EUROPEAN_LABELS),
              (CORRECT_CYRILLIC, CYRILLIC_LABELS)]
    switched = []
    for texts, labels in groups:
        for text in texts.values():
            for variant in (text, text.upper(), text.lower()):
                words = variant.split()
                for size in range(1, 7):
                    runs = [" ".join(words[i:i + size]) for i in range(len(words) - size + 1)]
                    for run, codec, label in _correct_cases(runs, labels):
                        if decode_bytes(run.encode(codec), label) != (run, None):
                            switched.append((label, run))
    assert switched == []


def test_correct_text_never_reaches_the_comparison_when_it_looks_right(monkeypatch):
    """The cheap look alone clears ordinary mail: alternatives are not even decoded."""
    def fail(*args):
        raise AssertionError("alternatives compared")

    monkeypatch.setattr(charset_opinion, "_better_alternative", fail)
    for text, codec, label in ((CORRECT_LATIN["norwegian"], "cp1252", "iso-8859-1"),
                               (CORRECT_LATIN["german"], "cp1252", "windows-1252"),
                               (CORRECT_CENTRAL_EUROPEAN["czech"], "iso8859_2", "iso-8859-2"),
                               (RUSSIAN_BODY, "cp1251", "windows-1251"),
                               (CORRECT_CYRILLIC["business"], "cp1251", "windows-1251"),
                               (RUSSIAN_BODY, "koi8_r", "koi8-r")):
        assert decode_bytes(text.encode(codec), label) == (text, None)


def test_pure_ascii_does_no_detection_work_at_all(monkeypatch):
    def fail(*args):
        raise AssertionError("detection work on ASCII")

    for module, name in ((charset_opinion, "_looks_wrong"), (charset_opinion, "_better_alternative"),
                         (charset_opinion, "_byte_classes"), (charset_opinion, "fitness"),
                         (charset_decode, "detect_codec")):
        monkeypatch.setattr(module, name, fail)
    data = b"The printer on the second floor is broken again.\r\n" * 100
    for label in ("iso-8859-1", "windows-1251", "koi8-r", "cp866", "us-ascii", None):
        assert decode_bytes(data, label) == (data.decode("ascii"), None)


def test_a_few_8bit_bytes_are_too_few_to_judge(monkeypatch):
    monkeypatch.setattr(charset_opinion, "_looks_wrong", lambda *args: pytest.fail("judged"))
    assert decode_bytes("Grüße".encode("cp1252"), "windows-1251") == ("GrьЯe", None)


def test_second_opinion_never_raises_on_junk():
    junk = bytes(range(256)) * 3
    for label in ("iso-8859-1", "windows-1252", "iso-8859-2", "windows-1251", "koi8-r", "koi8-u", "cp866",
                  "iso-8859-5", "x-mac-cyrillic", "macintosh"):
        text, _ = decode_bytes(junk, label)
        assert isinstance(text, str)


@pytest.mark.parametrize("declared, codec, decoded_as", [
    ("iso-8859-1", "cp1251", "windows-1251"),
    ("windows-1252", "cp1251", "windows-1251"),
    ("iso-8859-1", "koi8_r", "koi8-r"),
    ("windows-1251", "koi8_r", "koi8-r"),
    ("koi8-r", "cp1251", "windows-1251"),
    ("iso-8859-1", "utf-8", "utf-8"),
])
@pytest.mark.parametrize("encoding", ["Q", "q", "B"])
def test_encoded_word_with_a_wrong_single_byte_charset_is_corrected(declared, codec, decoded_as, encoding):
    value = encoded_word(RUSSIAN_SUBJECT, declared, encoding, codec)
    assert decode_header_with_notes(value) == (
        RUSSIAN_SUBJECT, [f"declared charset {declared!r} looks wrong; decoded as {decoded_as}"])


def test_encoded_word_q_with_windows_1251_bytes_in_iso_8859_1_by_hand():
    value = "Re: =?iso-8859-1?q?=C7=E0=FF=E2=EA=E0=3A_=ED=E5_=F0=E0=E1=EE=F2=E0=E5=F2_=EF=F0=E8=ED=F2=E5=F0?="
    assert decode_header_value(value) == "Re: " + RUSSIAN_SUBJECT


@pytest.mark.parametrize("text", [*SHORT_CORRECT_LATIN, "Blåbær 100 €", "Grüße aus München"])
def test_short_encoded_word_subjects_in_their_correct_latin_label_are_kept(text):
    for charset in ("iso-8859-1", "windows-1252"):
        assert decode_header_with_notes(encoded_word(text, charset, "Q", "cp1252")) == (text, [])


def test_raw_8bit_header_with_a_wrong_body_charset_hint_is_corrected():
    raw = RUSSIAN_SUBJECT.encode("koi8_r").decode("ascii", "surrogateescape")
    text, notes = charsets.decode_header_with_notes(raw, "windows-1251")
    assert text == RUSSIAN_SUBJECT
    assert notes == ["raw 8-bit bytes: charset of the body 'windows-1251' looks wrong for them; "
                     "decoded as koi8-r"]
