"""safe_filename(): attachment names safe to show and to save."""

from __future__ import annotations

import pytest

from daemon.mail.names import MAX_NAME_CHARS, safe_filename


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("C:\\Users\\ola\\report.pdf", "report.pdf"),
    ("/absolute/path/file.txt", "file.txt"),
    ("dir/", "dir"),
])
def test_path_components_are_removed(name, expected):
    assert safe_filename(name, "application/octet-stream", 1) == expected


@pytest.mark.parametrize("name, expected", [
    ("a\x00b.txt", "ab.txt"),
    ("\u202eexe.txt", "exe.txt"),
    ("bell\x07.txt", "bell.txt"),
    ("zero\u200bwidth.txt", "zerowidth.txt"),
    ("del\x7f.txt", "del.txt"),
])
def test_control_and_format_characters_are_removed(name, expected):
    assert safe_filename(name, "text/plain", 1) == expected


def test_whitespace_is_collapsed():
    assert safe_filename("  my \t\n  report\u00a0 final .pdf ", "application/pdf", 1) == "my report final .pdf"


@pytest.mark.parametrize("name, expected", [(".htaccess", "htaccess"), ("...hidden.txt", "hidden.txt")])
def test_leading_dots_are_removed(name, expected):
    assert safe_filename(name, "text/plain", 1) == expected


@pytest.mark.parametrize("name", [".", "..", "...", "", None, "   ", "\x00", "/", "\\..\\", "\u202e"])
def test_never_empty_or_dot_names(name):
    result = safe_filename(name, "application/pdf", 3)
    assert result == "attachment-3.pdf"


@pytest.mark.parametrize("content_type, expected", [
    ("text/plain", "attachment-2.txt"),
    ("image/png", "attachment-2.png"),
    ("message/rfc822", "attachment-2.eml"),
    ("application/x-unheard-of", "attachment-2.bin"),
    ("text/x-whatever", "attachment-2.txt"),
])
def test_fallback_name_has_extension_from_content_type(content_type, expected):
    assert safe_filename(None, content_type, 2) == expected


def test_long_name_is_capped_keeping_the_extension():
    result = safe_filename("x" * 396 + ".txt", "text/plain", 1)
    assert len(result) == MAX_NAME_CHARS == 150
    assert result == "x" * 146 + ".txt"


def test_long_cyrillic_name_fits_file_system_limits():
    result = safe_filename("Отчёт" * 60 + ".pdf", "application/pdf", 1)
    assert result.endswith(".pdf")
    assert len(result) <= 150 and len(result.encode("utf-8")) <= 240


def test_long_name_without_extension_is_capped():
    assert len(safe_filename("y" * 1000, "application/octet-stream", 1)) == 150


@pytest.mark.parametrize("name", ["Отчёт за январь.pdf", "Blåbær æøå ÆØÅ.txt", "日本語.docx", "CON.txt", "nul"])
def test_non_ascii_letters_and_reserved_windows_names_are_kept(name):
    assert safe_filename(name, "application/octet-stream", 1) == name


def test_windows_forbidden_characters_are_replaced():
    assert safe_filename('what?<now>:"x"|*.txt', "text/plain", 1) == "what__now___x___.txt"


def test_decomposed_letters_are_composed():
    assert safe_filename("bla\u030abær.txt", "text/plain", 1) == "blåbær.txt"
