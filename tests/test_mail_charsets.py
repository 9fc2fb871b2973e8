"""Charset labels, tolerant byte decoding and RFC 2047 header decoding."""

from __future__ import annotations

import pytest

from daemon.mail import charsets
from daemon.mail.charsets import decode_bytes, decode_header_value, python_codec
from tests.corpus import (
    CHINESE_SUBJECT,
    JAPANESE_SUBJECT,
    KOREAN_SUBJECT,
    NORWEGIAN_BODY,
    NORWEGIAN_SUBJECT,
    RUSSIAN_BODY,
    RUSSIAN_SUBJECT,
    TRADITIONAL_SUBJECT,
    encoded_word,
    encoded_word_bytes,
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
    monkeypatch.setattr(charsets, "detect_codec", lambda data: None)
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
