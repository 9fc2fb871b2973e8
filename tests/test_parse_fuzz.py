"""Mangled mail never makes the parser raise anything but MailUnparseable.

Hypothesis mutates the generated corpus the way real mail gets mangled:
cut short, bytes flipped, header lines inserted, charset labels swapped,
boundaries lost. Whatever comes out must be a well-formed ParsedMail.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.mail.parse import MailUnparseable, ParsedMail, parse
from tests.corpus import CORPUS

SAMPLES = [case.raw for case in CORPUS if len(case.raw) < 200_000]
LABELS = [b"utf-8", b"koi8-r", b"x-unknown", b"windows-1251", b"iso-2022-jp", b"", b'"', b"utf-7",
          b"unicode-1-1-utf-7", b"ks_c_5601-1987", b"bogus\x00label", b"\xff\xfe"]
HEADERS = [b"Content-Type: multipart/mixed; boundary=", b"Content-Transfer-Encoding: base64",
           b"Content-Transfer-Encoding: quoted-printable", b"Subject: =?utf-8?b?0J/RgNC4?=",
           b"From: =?koi8-r?q?=F0=D2=C9?= <\xd0\xbf@\xd0\xbf.\xd1\x80\xd1\x84>", b"Date: 31 Feb 99999",
           b"Content-Disposition: attachment; filename*=utf-8''%E2%80%AE%00.txt",
           b"In-Reply-To: <<<>>>", b"References: " + b"<a@b> " * 500, b"Content-Type: message/rfc822"]


def mutate(raw: bytes, data) -> bytes:
    kind = data.draw(st.sampled_from(["cut", "flip", "header", "label", "boundary", "nul"]))
    if kind == "cut":
        return raw[: data.draw(st.integers(0, len(raw)))]
    if kind == "flip":
        at = data.draw(st.integers(0, max(0, len(raw) - 1)))
        return raw[:at] + bytes([data.draw(st.integers(0, 255))]) + raw[at + 1:]
    if kind == "header":
        line = data.draw(st.sampled_from(HEADERS))
        return line + b"\r\n" + raw
    if kind == "label":
        return raw.replace(b"charset=", b"charset=" + data.draw(st.sampled_from(LABELS)) + b";x=", 1)
    if kind == "boundary":
        return raw.replace(b"--", b"-", data.draw(st.integers(1, 3)))
    return raw.replace(b"\r\n", b"\r\n\x00", 1)


def well_formed(mail: ParsedMail) -> None:
    assert isinstance(mail.subject, str) and "\n" not in mail.subject and "\r" not in mail.subject
    assert isinstance(mail.text, str) and isinstance(mail.visible_text, str)
    assert mail.visible_text or not mail.text
    for attachment in mail.attachments:
        assert attachment.filename and "/" not in attachment.filename and "\\" not in attachment.filename
        assert "\x00" not in attachment.filename and attachment.filename not in (".", "..")
        assert isinstance(attachment.data, bytes)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mangled_mail_parses_or_is_refused_cleanly(data):
    raw = data.draw(st.sampled_from(SAMPLES))
    for _ in range(data.draw(st.integers(1, 3))):
        raw = mutate(raw, data)
    try:
        mail = parse(raw)
    except MailUnparseable as refused:
        assert str(refused)
        return
    well_formed(mail)


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=4000))
def test_arbitrary_bytes_parse_or_are_refused_cleanly(raw):
    try:
        well_formed(parse(raw))
    except MailUnparseable:
        pass
