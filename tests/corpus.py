"""A generated corpus of raw mails (RFC 5322 bytes) for the mail parser tests.

Every mail is built here from byte templates and stdlib encoders; there are
no third-party sample files.  `CORPUS` lists the cases with what parsing
them must give; `simple_mail` builds an ordinary UTF-8 text mail for
integration tests.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

CRLF = b"\r\n"


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    subject: str | None  # exact decoded subject; None: the input must be unparseable
    text_contains: tuple[str, ...] = ()
    sender: str | None = None
    attachments: tuple[str, ...] = ()
    automatic: bool = False
    text: str | None = None  # the exact ParsedMail.text, written by hand from how the case is built


# ---------------------------------------------------------------------------
# Encoders.


def encoded_word(text: str, charset: str, encoding: str = "B", codec: str | None = None) -> str:
    """One RFC 2047 encoded word for `text` in `charset` (B or Q)."""
    data = text.encode(codec or charset)
    return encoded_word_bytes(data, charset, encoding)


def encoded_word_bytes(data: bytes, charset: str, encoding: str = "B") -> str:
    """One RFC 2047 encoded word for raw bytes (lets tests split characters)."""
    if encoding.upper() == "B":
        payload = base64.b64encode(data).decode("ascii")
    else:
        payload = "".join(_q_char(byte) for byte in data)
    return f"=?{charset}?{encoding}?{payload}?="


def _q_char(byte: int) -> str:
    if byte == 0x20:
        return "_"
    if chr(byte).isalnum() and byte < 0x80 or chr(byte) in "!*+-/":
        return chr(byte)
    return f"={byte:02X}"


def header_value(text: str, charset: str = "utf-8") -> str:
    """The text itself if ASCII, else encoded words of at most ~40 bytes each."""
    if text.isascii():
        return text
    words, chunk = [], ""
    for ch in text:
        if len((chunk + ch).encode(charset)) > 40:
            words.append(encoded_word(chunk, charset))
            chunk = ""
        chunk += ch
    words.append(encoded_word(chunk, charset))
    return " ".join(words)


def address(name: str, addr: str) -> str:
    """A From/To value with an RFC 2047-encoded (or quoted) display name."""
    if not name:
        return addr
    if name.isascii():
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{addr}>'
    return f"{header_value(name)} <{addr}>"


def qp(data: bytes) -> bytes:
    """Quoted-printable body with CRLF line ends."""
    encoded = binascii.b2a_qp(data.replace(b"\r\n", b"\n"), istext=True)
    return encoded.replace(b"\n", CRLF)


def b64(data: bytes) -> bytes:
    """Base64 body in 76-character lines with CRLF line ends."""
    return base64.encodebytes(data).replace(b"\n", CRLF)


def crlf(data: bytes) -> bytes:
    """Normalise line ends to CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", CRLF)


def headers(*pairs: tuple[str, str | bytes]) -> bytes:
    """Header lines; str values must be ASCII, bytes are written raw (8-bit headers)."""
    lines = []
    for name, value in pairs:
        raw = value if isinstance(value, bytes) else value.encode("ascii")
        lines.append(name.encode("ascii") + b": " + raw + CRLF)
    return b"".join(lines)


def corpus_message_id(name: str) -> str:
    return f"<{name}@corpus.patroldesk.test>"


def base_headers(name: str, subject: str | None = None, *, frm: str | None = None,
                 date: str = "Tue, 02 Jan 2024 10:00:00 +0100") -> list[tuple[str, str | bytes]]:
    """From, To, Subject, Date, Message-ID for a corpus case named `name`."""
    pairs: list[tuple[str, str | bytes]] = [
        ("From", frm or f"Customer {name} <{name}@corpus.example>"),
        ("To", "Support <support@patroldesk.test>"),
    ]
    if subject is not None:
        pairs.append(("Subject", subject))
    pairs += [("Date", date), ("Message-ID", corpus_message_id(name)), ("MIME-Version", "1.0")]
    return pairs


def leaf(content_type: str, body: bytes, encoding: str = "7bit", *extra: tuple[str, str | bytes]) -> bytes:
    """A MIME entity (headers + body), body already transfer-encoded."""
    return headers(("Content-Type", content_type), ("Content-Transfer-Encoding", encoding), *extra) + CRLF + body


def multipart(subtype: str, boundary: str, *parts: bytes, extra: str = "") -> bytes:
    """A multipart entity with its own Content-Type header."""
    body = b"This is a multi-part message in MIME format." + CRLF
    for part in parts:
        body += b"--" + boundary.encode() + CRLF + part.rstrip(b"\r\n") + CRLF
    body += b"--" + boundary.encode() + b"--" + CRLF
    content_type = f'multipart/{subtype}; boundary="{boundary}"{extra}'
    return headers(("Content-Type", content_type)) + CRLF + body


def mail(pairs: list[tuple[str, str | bytes]], entity: bytes) -> bytes:
    """Top-level headers followed by an entity (which brings its own MIME headers)."""
    return headers(*pairs) + entity


def simple_mail(*, frm: str, to: str, subject: str, body: str, message_id: str | None = None,
                in_reply_to: str | None = None, references: str | None = None,
                extra_headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """A UTF-8 text/plain mail; non-ASCII subject and names are RFC 2047-encoded.

    `frm` and `to` are 'addr@x' or 'Display Name <addr@x>' (comma-separated
    for several).  Message ids may be given with or without <>.
    """
    pairs: list[tuple[str, str | bytes]] = [
        ("From", _encode_address_field(frm)),
        ("To", _encode_address_field(to)),
        ("Subject", header_value(subject)),
        ("Date", "Tue, 02 Jan 2024 10:00:00 +0000"),
    ]
    if message_id is not None:
        pairs.append(("Message-ID", _bracketed(message_id)))
    if in_reply_to is not None:
        pairs.append(("In-Reply-To", _bracketed(in_reply_to)))
    if references is not None:
        pairs.append(("References", " ".join(_bracketed(ref) for ref in references.split())))
    pairs += [("MIME-Version", "1.0"), *extra_headers]
    entity = leaf("text/plain; charset=utf-8", b64(body.encode("utf-8")), "base64")
    return mail(pairs, entity)


def _bracketed(message_id: str) -> str:
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def _encode_address_field(value: str) -> str:
    """Encode the display names of a comma-separated 'Name <addr>' list."""
    encoded = []
    for item in value.split(","):
        item = item.strip()
        if "<" in item:
            name, _, rest = item.partition("<")
            encoded.append(address(name.strip().strip('"'), rest.rstrip(">").strip()))
        else:
            encoded.append(item)
    return ", ".join(encoded)


# ---------------------------------------------------------------------------
# Texts.

RUSSIAN_SUBJECT = "Заявка: не работает принтер"
RUSSIAN_BODY = ("Здравствуйте! У меня не работает принтер в бухгалтерии. "
                "Пожалуйста, пришлите специалиста как можно скорее. Спасибо!")
NORWEGIAN_SUBJECT = "Blåbærsyltetøy på brødskiva"
NORWEGIAN_BODY = "Hei! Jeg har et spørsmål om fakturaen. ÆØÅ æøå. Vennlig hilsen, Åse Ærlig"
JAPANESE_SUBJECT = "日本語のテスト"
JAPANESE_BODY = "こんにちは。プリンターが壊れました。よろしくお願いします。"
CHINESE_SUBJECT = "打印机坏了"
CHINESE_BODY = "您好，我们办公室的打印机坏了，请尽快派人来修理。谢谢！"
TRADITIONAL_SUBJECT = "印表機壞了"
TRADITIONAL_BODY = "您好，我們辦公室的印表機壞了，請盡快派人來修理。謝謝！"
KOREAN_SUBJECT = "프린터가 고장났어요"
KOREAN_BODY = "안녕하세요. 사무실 프린터가 고장났어요. 빨리 와 주세요. 감사합니다."


def charset_case(name: str, charset: str, codec: str, subject: str, body: str,
                 encoding: str, header_encoding: str = "B") -> Case:
    """A text/plain mail with subject and body in one charset."""
    data = body.encode(codec)
    encoded = {"base64": b64, "quoted-printable": qp}.get(encoding, crlf)(data)
    pairs = base_headers(name, encoded_word(subject, charset, header_encoding, codec))
    raw = mail(pairs, leaf(f"text/plain; charset={charset}", encoded, encoding))
    return Case(name, raw, subject, (body,), f"{name}@corpus.example", text=body)


def _charset_cases() -> list[Case]:
    return [
        charset_case("utf8-base64", "utf-8", "utf-8", RUSSIAN_SUBJECT, RUSSIAN_BODY, "base64"),
        charset_case("utf8-qp-norwegian", "UTF-8", "utf-8", NORWEGIAN_SUBJECT, NORWEGIAN_BODY,
                     "quoted-printable", "Q"),
        charset_case("koi8r-qp", "koi8-r", "koi8_r", RUSSIAN_SUBJECT, RUSSIAN_BODY, "quoted-printable"),
        charset_case("koi8r-8bit-q", "KOI8-R", "koi8_r", RUSSIAN_SUBJECT, RUSSIAN_BODY, "8bit", "Q"),
        charset_case("windows1251-8bit", "windows-1251", "cp1251", RUSSIAN_SUBJECT, RUSSIAN_BODY,
                     "8bit", "Q"),
        charset_case("windows1251-base64", "windows-1251", "cp1251", RUSSIAN_SUBJECT, RUSSIAN_BODY,
                     "base64"),
        charset_case("iso88591-qp", "iso-8859-1", "latin-1", NORWEGIAN_SUBJECT, NORWEGIAN_BODY,
                     "quoted-printable", "Q"),
        charset_case("iso88591-8bit-b", "ISO-8859-1", "latin-1", NORWEGIAN_SUBJECT, NORWEGIAN_BODY,
                     "8bit"),
        charset_case("iso2022jp-7bit", "iso-2022-jp", "iso2022_jp", JAPANESE_SUBJECT, JAPANESE_BODY,
                     "7bit"),
        charset_case("iso88595-base64", "iso-8859-5", "iso8859_5", RUSSIAN_SUBJECT, RUSSIAN_BODY,
                     "base64"),
        charset_case("cp866-8bit", "cp866", "cp866", RUSSIAN_SUBJECT, RUSSIAN_BODY, "8bit"),
        charset_case("ibm866-qp", "IBM866", "cp866", RUSSIAN_SUBJECT, RUSSIAN_BODY, "quoted-printable", "Q"),
        charset_case("gb2312-base64", "gb2312", "gb2312", CHINESE_SUBJECT, CHINESE_BODY, "base64"),
        charset_case("big5-base64", "big5", "big5", TRADITIONAL_SUBJECT, TRADITIONAL_BODY, "base64"),
        charset_case("shiftjis-base64", "shift_jis", "shift_jis", JAPANESE_SUBJECT, JAPANESE_BODY,
                     "base64"),
        charset_case("euckr-base64", "euc-kr", "euc_kr", KOREAN_SUBJECT, KOREAN_BODY, "base64"),
        charset_case("iso885915-qp", "iso-8859-15", "iso8859_15", "Pris 100 € for blåbær",
                     "Prisen er 100 € for ÆØÅ og æøå.", "quoted-printable", "Q"),
        charset_case("windows1252-qp", "windows-1252", "cp1252", "“Blåbær” – søknad",
                     "Hei “Åse” – prisen er 5 €. Hilsen Ørjan", "quoted-printable", "Q"),
        charset_case("windows874-base64", "windows-874", "cp874", "สวัสดีครับ",
                     "สวัสดีครับ เครื่องพิมพ์เสีย", "base64"),
        charset_case("iso88598i-base64", "iso-8859-8-i", "iso8859_8", "שלום עולם",
                     "שלום, המדפסת לא עובדת", "base64"),
        charset_case("xmaccyrillic-base64", "x-mac-cyrillic", "mac_cyrillic", RUSSIAN_SUBJECT,
                     RUSSIAN_BODY, "base64"),
        charset_case("windows31j-base64", "Windows-31J", "cp932", "①日本語のテスト",
                     "①" + JAPANESE_BODY, "base64"),
        charset_case("ksc56011987-base64", "ks_c_5601-1987", "cp949", KOREAN_SUBJECT, KOREAN_BODY,
                     "base64"),
        charset_case("label-utf8-typo", "utf8", "utf-8", NORWEGIAN_SUBJECT, NORWEGIAN_BODY, "8bit"),
        charset_case("label-cp-1251", "cp-1251", "cp1251", RUSSIAN_SUBJECT, RUSSIAN_BODY, "8bit"),
        charset_case("label-win-1251", "win-1251", "cp1251", RUSSIAN_SUBJECT, RUSSIAN_BODY, "base64"),
        charset_case("label-latin1", "latin1", "latin-1", NORWEGIAN_SUBJECT, NORWEGIAN_BODY, "8bit"),
        charset_case("label-iso8859-1", "iso8859-1", "latin-1", NORWEGIAN_SUBJECT, NORWEGIAN_BODY, "8bit"),
        charset_case("label-x-sjis", "x-sjis", "shift_jis", JAPANESE_SUBJECT, JAPANESE_BODY, "base64"),
    ]


def _detection_cases() -> list[Case]:
    """Bodies whose charset is missing, unknown or wrong."""
    cp1251 = RUSSIAN_BODY.encode("cp1251")
    cases = []
    for name, content_type in (
        ("no-charset-8bit-cp1251", "text/plain"),
        ("unknown-label-x-unknown", "text/plain; charset=x-unknown"),
        ("unknown-label-unknown-8bit", "text/plain; charset=unknown-8bit"),
        ("unknown-label-x-user-defined", "text/plain; charset=x-user-defined"),
        ("usascii-with-8bit", "text/plain; charset=us-ascii"),
        ("utf8-label-really-cp1251", "text/plain; charset=utf-8"),
        ("quoted-label-with-apostrophe", "text/plain; charset=\"windows-1251'\""),
    ):
        raw = mail(base_headers(name, header_value(RUSSIAN_SUBJECT)), leaf(content_type, crlf(cp1251), "8bit"))
        cases.append(Case(name, raw, RUSSIAN_SUBJECT, (RUSSIAN_BODY,), f"{name}@corpus.example",
                          text=RUSSIAN_BODY))
    return cases + _wrong_label_cases()


def _wrong_label_cases() -> list[Case]:
    """Single-byte labels that decode without error but are wrong (subject and body alike)."""
    cases = []
    for name, label, codec, text, encoding in (
        ("latin1-label-really-cp1251", "iso-8859-1", "cp1251", RUSSIAN_BODY, "8bit"),
        ("cp1252-label-really-cp1251", "windows-1252", "cp1251", RUSSIAN_BODY, "quoted-printable"),
        ("cp1251-label-really-koi8r", "windows-1251", "koi8_r", RUSSIAN_BODY, "quoted-printable"),
        ("koi8r-label-really-cp1251", "koi8-r", "cp1251", RUSSIAN_BODY, "base64"),
        ("cp1251-label-really-cp866", "windows-1251", "cp866", RUSSIAN_BODY, "8bit"),
        ("latin1-label-really-utf8", "iso-8859-1", "utf-8", NORWEGIAN_BODY, "quoted-printable"),
    ):
        subject = RUSSIAN_SUBJECT if text == RUSSIAN_BODY else NORWEGIAN_SUBJECT
        data = text.encode(codec)
        encoded = {"base64": b64, "quoted-printable": qp}.get(encoding, crlf)(data)
        pairs = base_headers(name, encoded_word(subject, label, "Q", codec))
        raw = mail(pairs, leaf(f"text/plain; charset={label}", encoded, encoding))
        cases.append(Case(name, raw, subject, (text,), f"{name}@corpus.example", text=text))
    return cases


# ---------------------------------------------------------------------------
# Structure.

PNG_BYTES = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + bytes(range(64))
PDF_BYTES = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


def html_only() -> Case:
    name = "html-only"
    html = ("<html><head><title>Ignore me</title><style>p {color: red}</style></head><body>"
            "<p>Hello&nbsp;from <b>HTML</b> &amp; friends</p><ul><li>first</li><li>second</li></ul>"
            "<p><a href=\"https://example.com/help\">our help page</a></p><script>alert(1)</script>"
            "</body></html>")
    raw = mail(base_headers(name, "HTML only"), leaf("text/html; charset=utf-8", qp(html.encode()), "quoted-printable"))
    return Case(name, raw, "HTML only", ("Hello from HTML & friends", "- first", "- second",
                                         "our help page (https://example.com/help)"), f"{name}@corpus.example",
                text="Hello from HTML & friends\n\n- first\n- second\n\nour help page (https://example.com/help)")


def nested_mixed_alternative_related() -> Case:
    name = "nested-mixed-alternative-related"
    html = b'<p>See the picture: <img src="cid:logo@corpus"></p><p>Regards</p>'
    related = multipart(
        "related", "rel-1",
        leaf("text/html; charset=utf-8", html, "7bit"),
        leaf("image/png", b64(PNG_BYTES), "base64", ("Content-ID", "<logo@corpus>"),
             ("Content-Disposition", 'inline; filename="logo.png"')),
    )
    alternative = multipart("alternative", "alt-1",
                            leaf("text/plain; charset=utf-8", b"See the picture.\r\nRegards\r\n"), related)
    mixed = multipart("mixed", "mix-1", alternative,
                      leaf("application/pdf; name=\"invoice.pdf\"", b64(PDF_BYTES), "base64",
                           ("Content-Disposition", 'attachment; filename="invoice.pdf"')))
    raw = mail(base_headers(name, "Nested parts"), mixed)
    return Case(name, raw, "Nested parts", ("See the picture.",), f"{name}@corpus.example",
                ("logo.png", "invoice.pdf"), text="See the picture.\nRegards")


def rfc2231(value: str, param: str = "filename", pieces: int = 1) -> str:
    """An RFC 2231 utf-8 parameter, optionally split into continuations."""
    quoted = "".join(f"%{byte:02X}" if not chr(byte).isalnum() or byte >= 0x80 else chr(byte)
                     for byte in value.encode("utf-8"))
    if pieces == 1:
        return f"{param}*=utf-8''{quoted}"
    size = -(-len(quoted) // pieces)
    chunks = []
    position = 0
    while position < len(quoted):
        end = position + size
        while "%" in quoted[end - 2:end]:  # never cut inside a %XX escape
            end += 1
        chunks.append(quoted[position:end])
        position = end
    first = f"{param}*0*=utf-8''{chunks[0]}"
    return ";\r\n ".join([first] + [f"{param}*{i}*={chunk}" for i, chunk in enumerate(chunks[1:], 1)])


def hostile_names() -> Case:
    name = "hostile-attachment-names"
    long_name = "x" * 396 + ".txt"
    attachment_specs = [
        'attachment; filename="../../etc/passwd"',
        'attachment; filename="..\\\\..\\\\boot.ini"',
        b'attachment; filename="a\x00b.txt"',
        "attachment; " + rfc2231("\u202eexe.txt"),
        f'attachment; filename="{long_name}"',
        "attachment;\r\n " + rfc2231("Отчёт за январь 2024.pdf", pieces=3),
        'attachment; filename="' + encoded_word("Счёт №5.pdf", "utf-8") + '"',
        'attachment; filename="'.encode() + "Договор.docx".encode("utf-8") + b'"',
        "attachment; " + rfc2231("Blåbær æøå.txt"),
    ]
    parts = [leaf("text/plain; charset=utf-8", b"Files attached.\r\n")]
    for spec in attachment_specs:
        parts.append(leaf("application/octet-stream", b64(b"payload"), "base64", ("Content-Disposition", spec)))
    raw = mail(base_headers(name, "Hostile names"), multipart("mixed", "hostile-1", *parts))
    expected = ("passwd", "boot.ini", "ab.txt", "exe.txt", "x" * 146 + ".txt", "Отчёт за январь 2024.pdf",
                "Счёт №5.pdf", "Договор.docx", "Blåbær æøå.txt")
    return Case(name, raw, "Hostile names", ("Files attached.",), f"{name}@corpus.example", expected,
                text="Files attached.")


def no_message_id() -> Case:
    name = "no-message-id"
    pairs = [pair for pair in base_headers(name, "No id here") if pair[0] != "Message-ID"]
    raw = mail(pairs, leaf("text/plain", b"A mail without a Message-ID.\r\n"))
    return Case(name, raw, "No id here", ("A mail without a Message-ID.",), f"{name}@corpus.example",
                text="A mail without a Message-ID.")


def truncated() -> Case:
    name = "truncated-mid-base64"
    whole = multipart("mixed", "trunc-1",
                      leaf("text/plain; charset=utf-8", b"The report is attached.\r\n"),
                      leaf("application/pdf", b64(PDF_BYTES), "base64",
                           ("Content-Disposition", 'attachment; filename="report.pdf"')))
    raw = mail(base_headers(name, "Truncated"), whole)
    cut = raw[: raw.index(b"report.pdf") + 400]
    return Case(name, cut, "Truncated", ("The report is attached.",), f"{name}@corpus.example", ("report.pdf",),
                text="The report is attached.")


def long_header_line() -> Case:
    name = "header-line-100kb"
    pairs = base_headers(name, "Long header") + [("X-Filler", "a" * 100_000)]
    raw = mail(pairs, leaf("text/plain", b"Short body.\r\n"))
    return Case(name, raw, "Long header", ("Short body.",), f"{name}@corpus.example", text="Short body.")


def crlf_in_from_name() -> Case:
    name = "crlf-in-encoded-from-name"
    display = encoded_word_bytes("Evil\r\nBcc: victim@example.com".encode(), "utf-8", "Q")
    pairs = base_headers(name, "CRLF in name", frm=f"{display} <{name}@corpus.example>")
    raw = mail(pairs, leaf("text/plain", b"Hello.\r\n"))
    return Case(name, raw, "CRLF in name", ("Hello.",), f"{name}@corpus.example", text="Hello.")


def crlf_in_subject() -> Case:
    name = "crlf-in-encoded-subject"
    subject = encoded_word_bytes(b"Line one\r\nLine two\tand\x00three", "utf-8", "B")
    raw = mail(base_headers(name, subject), leaf("text/plain", b"Body.\r\n"))
    return Case(name, raw, "Line one Line two and three", ("Body.",), f"{name}@corpus.example", text="Body.")


def nested_deep(depth: int) -> bytes:
    """An outer text part, then `depth` nested multiparts with a text at the bottom."""
    name = f"nested-{depth}-deep"
    inner = leaf("text/plain", b"Innermost text.\r\n")
    opening, closing = [], []
    for level in range(depth):
        boundary = f"deep-{level}".encode()
        opening.append(b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n--' + boundary + CRLF)
        closing.append(CRLF + b"--" + boundary + b"--")
    chain = b"".join(opening) + inner + b"".join(reversed(closing)) + CRLF
    outer = (b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n--outer\r\n'
             + leaf("text/plain", b"Outer text survives.\r\n") + b"--outer\r\n" + chain + b"--outer--\r\n")
    return mail(base_headers(name, f"Nested {depth}"), outer)


def nested_cases() -> list[Case]:
    return [
        # Parts nested deeper than parse()'s limit (50) are dropped: the innermost text too.
        Case(f"nested-{depth}-deep", nested_deep(depth), f"Nested {depth}", ("Outer text survives.",),
             f"nested-{depth}-deep@corpus.example", text="Outer text survives.")
        for depth in (60, 5000)
    ]


def missing_headers() -> Case:
    raw = headers(("To", "support@patroldesk.test"), ("Message-ID", corpus_message_id("missing-headers")),
                  ("Content-Type", "text/plain")) + CRLF + b"Nobody knows who wrote this.\r\n"
    return Case("missing-subject-from-date", raw, "", ("Nobody knows who wrote this.",), None,
                text="Nobody knows who wrote this.")


def absurd_date() -> Case:
    name = "absurd-date-bare-number"
    raw = mail(base_headers(name, "Bad date", date="1700000000"), leaf("text/plain", b"When?\r\n"))
    return Case(name, raw, "Bad date", ("When?",), f"{name}@corpus.example", text="When?")


def internationalised_addresses() -> Case:
    name = "eai-utf8-addresses"
    pairs = [
        ("From", "Jöran Bücher <jöran@bücher.example>".encode("utf-8")),
        ("To", "用户@例子.广告, Поддержка <поддержка@пример.рф>".encode("utf-8")),
        ("Subject", "EAI"),
        ("Date", "Tue, 02 Jan 2024 10:00:00 +0100"),
        ("Message-ID", corpus_message_id(name)),
        ("MIME-Version", "1.0"),
    ]
    raw = mail(pairs, leaf("text/plain; charset=utf-8", "Hej från Jöran.\r\n".encode(), "8bit"))
    return Case(name, raw, "EAI", ("Hej från Jöran.",), "jöran@bücher.example", text="Hej från Jöran.")


def auto_reply() -> Case:
    name = "auto-reply"
    pairs = base_headers(name, "Automatic reply: Your ticket") + [("Auto-Submitted", "auto-replied")]
    raw = mail(pairs, leaf("text/plain", b"I am out of office until Monday.\r\n"))
    return Case(name, raw, "Automatic reply: Your ticket", ("out of office",), f"{name}@corpus.example",
                automatic=True, text="I am out of office until Monday.")


def dsn_bounce() -> Case:
    name = "dsn-bounce"
    status = crlf(b"Reporting-MTA: dns; mx.corpus.example\n\nFinal-Recipient: rfc822; gone@corpus.example\n"
                  b"Action: failed\nStatus: 5.1.1\n")
    original = crlf(b"From: support@patroldesk.test\nTo: gone@corpus.example\nSubject: Your ticket\n")
    report = multipart(
        "report", "dsn-1",
        leaf("text/plain", b"Delivery to the following recipient failed permanently: gone@corpus.example\r\n"),
        headers(("Content-Type", "message/delivery-status")) + CRLF + status,
        headers(("Content-Type", "text/rfc822-headers")) + CRLF + original,
        extra="; report-type=delivery-status",
    )
    pairs = base_headers(name, "Undelivered Mail Returned to Sender",
                         frm="Mail Delivery System <MAILER-DAEMON@mx.corpus.example>")
    raw = mail([("Return-Path", "<>")] + pairs, report)
    return Case(name, raw, "Undelivered Mail Returned to Sender", ("failed permanently",),
                "MAILER-DAEMON@mx.corpus.example", ("attachment-1.txt", "attachment-2.txt"), automatic=True,
                text="Delivery to the following recipient failed permanently: gone@corpus.example")


def attached_message() -> Case:
    name = "attached-rfc822"
    inner = crlf(b"From: someone@corpus.example\nSubject: Original question\nMessage-ID: <inner-"
                 b"attached@corpus.patroldesk.test>\n\nThe forwarded text.\n")
    mixed = multipart("mixed", "fwd-1", leaf("text/plain", b"Forwarding this.\r\n"),
                      headers(("Content-Type", "message/rfc822")) + CRLF + inner)
    raw = mail(base_headers(name, "Fwd: Original question"), mixed)
    return Case(name, raw, "Fwd: Original question", ("Forwarding this.",), f"{name}@corpus.example",
                ("Original question.eml",), text="Forwarding this.")


def text_attachment() -> Case:
    name = "text-part-as-attachment"
    mixed = multipart("mixed", "txt-1", leaf("text/plain", b"The body.\r\n"),
                      leaf("text/plain; charset=utf-8", b"Log line 1\r\nLog line 2\r\n", "7bit",
                           ("Content-Disposition", 'attachment; filename="log.txt"')))
    raw = mail(base_headers(name, "Log attached"), mixed)
    return Case(name, raw, "Log attached", ("The body.",), f"{name}@corpus.example", ("log.txt",),
                text="The body.")


def apple_mail_inline_parts() -> Case:
    name = "apple-mail-inline-text-parts"
    mixed = multipart(
        "mixed", "apple-1",
        leaf("text/plain; charset=us-ascii", b"First part of my message.\r\n"),
        leaf("image/png; name=\"photo.png\"", b64(PNG_BYTES), "base64",
             ("Content-Disposition", 'inline; filename="photo.png"')),
        leaf("text/plain; charset=us-ascii", b"Second part after the picture.\r\n"),
    )
    raw = mail(base_headers(name, "Photo"), mixed)
    return Case(name, raw, "Photo", ("First part of my message.\n\nSecond part after the picture.",),
                f"{name}@corpus.example", ("photo.png",),
                text="First part of my message.\n\nSecond part after the picture.")


def inline_named_text_parts() -> Case:
    """Typed text sent as `inline; filename=...` text parts (as in Python's test mail msg_04)."""
    name = "inline-text-parts-with-filenames"
    disposition = 'inline;\r\n\tfilename="msg.txt"'
    mixed = multipart(
        "mixed", "h90VIIIKmx",
        leaf("text/plain", b"a simple kind of mirror\r\nto reflect upon our own\r\n", "7bit",
             ("Content-Disposition", disposition)),
        leaf("text/plain", b"a second mirror\r\n", "7bit", ("Content-Disposition", disposition)),
    )
    raw = mail([("Return-Path", f"<{name}@corpus.example>")] + base_headers(name, "a simple multipart"), mixed)
    return Case(name, raw, "a simple multipart",
                ("a simple kind of mirror\nto reflect upon our own\n\na second mirror",), f"{name}@corpus.example",
                text="a simple kind of mirror\nto reflect upon our own\n\na second mirror")


def raw_8bit_subjects() -> list[Case]:
    """Subjects written as raw 8-bit bytes without RFC 2047, as old clients do."""
    cases = []
    for name, codec, label in (("raw-8bit-subject-koi8r", "koi8_r", "koi8-r"),
                               ("raw-8bit-subject-utf8", "utf-8", "utf-8"),
                               ("raw-8bit-subject-cp1251", "cp1251", "windows-1251")):
        pairs = [(key, value.encode(codec) if key == "Subject" else value)
                 for key, value in base_headers(name, "Тест принтера")]
        raw = mail(pairs, leaf(f"text/plain; charset={label}", crlf(RUSSIAN_BODY.encode(codec)), "8bit"))
        cases.append(Case(name, raw, "Тест принтера", (RUSSIAN_BODY,), f"{name}@corpus.example", text=RUSSIAN_BODY))
    return cases


def rfc2047_oddities() -> list[Case]:
    cases = []
    russian = "Привет, мир".encode("utf-8")
    split_char = encoded_word_bytes(russian[:3], "utf-8") + " " + encoded_word_bytes(russian[3:], "utf-8")
    no_space = encoded_word("Blåbær", "iso-8859-1", "Q") + encoded_word("syltetøy", "iso-8859-1", "Q")
    lowercase = encoded_word("Привет", "koi8-r", "b", "koi8_r") + " " + encoded_word("мир", "utf-8", "q")
    for name, subject, expected in (
        ("rfc2047-split-multibyte", split_char, "Привет, мир"),
        ("rfc2047-no-whitespace", no_space, "Blåbærsyltetøy"),
        ("rfc2047-lowercase-bq", lowercase, "Приветмир"),
        ("rfc2047-unknown-charset", "=?x-klingon?Q?Qapla=27?= ok", "Qapla' ok"),
        ("rfc2047-mixed-text", "Re: " + encoded_word("Счёт", "utf-8") + " (urgent)", "Re: Счёт (urgent)"),
    ):
        raw = mail(base_headers(name, subject), leaf("text/plain", b"Body text.\r\n"))
        cases.append(Case(name, raw, expected, ("Body text.",), f"{name}@corpus.example", text="Body text."))
    name = "rfc2047-in-quoted-display-name"
    frm = '"' + encoded_word("Ærlig, Åse", "utf-8", "Q") + f'" <{name}@corpus.example>'
    raw = mail(base_headers(name, "Quoted name", frm=frm), leaf("text/plain", b"Hi.\r\n"))
    cases.append(Case(name, raw, "Quoted name", ("Hi.",), f"{name}@corpus.example", text="Hi."))
    return cases


def alternative_with_empty_plain() -> Case:
    name = "alternative-empty-plain"
    alternative = multipart("alternative", "alt-empty",
                            leaf("text/plain; charset=utf-8", b"   \r\n"),
                            leaf("text/html; charset=utf-8", b"<div>Only the <i>HTML</i> has text</div>"))
    raw = mail(base_headers(name, "Empty plain"), alternative)
    return Case(name, raw, "Empty plain", ("Only the HTML has text",), f"{name}@corpus.example",
                text="Only the HTML has text")


def list_mail() -> Case:
    name = "mailing-list-human"
    pairs = base_headers(name, "[users] Question") + [("List-Id", "<users.lists.corpus.example>")]
    raw = mail(pairs, leaf("text/plain", b"A person asking through a list.\r\n"))
    return Case(name, raw, "[users] Question", ("A person asking through a list.",), f"{name}@corpus.example",
                text="A person asking through a list.")


def lf_only_mail() -> Case:
    name = "lf-line-endings"
    raw = (f"From: {name}@corpus.example\nTo: support@patroldesk.test\nSubject: LF only\n"
           f"Message-ID: {corpus_message_id(name)}\n\nLine one\nLine two\n").encode()
    return Case(name, raw, "LF only", ("Line one\nLine two",), f"{name}@corpus.example", text="Line one\nLine two")


def thunderbird_flowed_reply() -> Case:
    """A format=flowed reply: soft breaks, a signature, a quote of depth 1 and 2, space-stuffing."""
    name = "thunderbird-flowed-reply"
    body = ("Hi,\n\n"
            "the printer on the second floor has been jammed since this \n"
            "morning and nobody can print invoices. Could you send someone \n"
            "today?\n"
            " From what I can see the tray is empty.\n\n"
            "Thanks, Åse\n"
            "-- \n"
            "Åse Ærlig\n"
            "Accounting\n\n"
            "On 02.01.2024 09:12, Support wrote:\n"
            "> Did restarting the printer help? We can come by after \n"
            "> lunch if not.\n"
            ">\n"
            ">> The printer is broken again, it shows error E-204 and \n"
            ">> refuses every job.\n")
    entity = leaf("text/plain; charset=UTF-8; format=flowed", crlf(body.encode()), "8bit")
    raw = mail(base_headers(name, "Re: Printer jammed"), entity)
    text = ("Hi,\n\n"
            "the printer on the second floor has been jammed since this morning and nobody can print "
            "invoices. Could you send someone today?\n"
            "From what I can see the tray is empty.\n\n"
            "Thanks, Åse\n"
            "-- \n"
            "Åse Ærlig\n"
            "Accounting\n\n"
            "On 02.01.2024 09:12, Support wrote:\n"
            "> Did restarting the printer help? We can come by after lunch if not.\n"
            ">\n"
            ">> The printer is broken again, it shows error E-204 and refuses every job.")
    return Case(name, raw, "Re: Printer jammed", ("jammed since this morning and nobody",),
                f"{name}@corpus.example", text=text)


def apple_mail_flowed_delsp() -> Case:
    """format=flowed; delsp=yes in quoted-printable: the soft-break space is the wrapper's.

    So a wrapper may break a URL or Japanese text, which have no spaces to break at.
    """
    name = "apple-mail-flowed-delsp"
    body = ("Hei! Jeg har et spørsmål om fakturaen for  \n"
            "januar. Se https://faktura.corpus.example/2024/01/ \n"
            "rapport.pdf for detaljer.\n"
            "こんにちは。プリンター \n"
            "が壊れました。\n")
    entity = leaf("text/plain; charset=utf-8; format=flowed; delsp=yes", qp(body.encode()), "quoted-printable")
    raw = mail(base_headers(name, "Faktura"), entity)
    text = ("Hei! Jeg har et spørsmål om fakturaen for januar. Se "
            "https://faktura.corpus.example/2024/01/rapport.pdf for detaljer.\n"
            "こんにちは。プリンターが壊れました。")
    return Case(name, raw, "Faktura", ("fakturaen for januar.",), f"{name}@corpus.example", text=text)


def unparseable() -> list[Case]:
    return [
        Case("empty-input", b"", None),
        Case("whitespace-only", b"  \r\n\r\n\t", None),
        Case("binary-junk", bytes.fromhex("89504e470d0a1a0a") + bytes(range(256)) * 4, None),
        Case("no-header-section", b"Just some text\r\nwithout any headers at all.\r\n", None),
    ]


def _build_corpus() -> list[Case]:
    return [
        *_charset_cases(),
        *_detection_cases(),
        html_only(),
        nested_mixed_alternative_related(),
        hostile_names(),
        no_message_id(),
        truncated(),
        long_header_line(),
        crlf_in_from_name(),
        crlf_in_subject(),
        *nested_cases(),
        missing_headers(),
        absurd_date(),
        internationalised_addresses(),
        auto_reply(),
        dsn_bounce(),
        attached_message(),
        text_attachment(),
        apple_mail_inline_parts(),
        inline_named_text_parts(),
        *raw_8bit_subjects(),
        *rfc2047_oddities(),
        alternative_with_empty_plain(),
        list_mail(),
        lf_only_mail(),
        thunderbird_flowed_reply(),
        apple_mail_flowed_delsp(),
        *unparseable(),
    ]


CORPUS: list[Case] = _build_corpus()
CASES_BY_NAME: dict[str, Case] = {case.name: case for case in CORPUS}
