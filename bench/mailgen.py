"""A deterministic mixed corpus of support mail for benchmarks.

Plain and HTML mail, attachments, the charsets customers really use, one
third replies to earlier mails, and some auto-replies. Same seed, same bytes.
"""
from __future__ import annotations

import base64
import random
from email.header import Header

SUPPORT = "support@localhost"
_TEXTS = [
    ("utf-8", "Принтер не печатает", "Здравствуйте! После обновления принтер перестал печатать, горит оранжевая лампа."),
    ("koi8-r", "Не приходит счёт", "Добрый день. Счёт за октябрь так и не пришёл на почту бухгалтерии."),
    ("windows-1251", "Ошибка входа", "Не могу войти в личный кабинет: пишет, что пароль неверный."),
    ("iso-8859-1", "Skriveren virker ikke", "Hei! Skriveren på kontoret skriver ut blanke ark. Hva gjør vi nå?"),
    ("utf-8", "Fakturaen mangler", "Hei, vi har ikke fått fakturaen for november. Kan dere sende den på nytt?"),
    ("us-ascii", "Cannot log in", "Hello, since this morning none of us can log in to the portal."),
    ("iso-2022-jp", "プリンターが動きません", "こんにちは。プリンターが動きません。助けてください。"),
]


def _header(text: str, charset: str) -> str:
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        try:
            text.encode(charset)
        except (UnicodeEncodeError, LookupError):
            charset = "utf-8"  # a reply may quote a subject from another charset
        return Header(text, "utf-8" if charset == "us-ascii" else charset).encode()


def _body(text: str, charset: str, rng: random.Random) -> tuple[str, bytes]:
    paragraph = (text + "\n") * rng.randint(3, 12)
    data = paragraph.encode(charset, "replace")
    if charset in ("utf-8",) and rng.random() < 0.5:
        return "base64", base64.encodebytes(data)
    return ("7bit" if charset in ("us-ascii", "iso-2022-jp") else "8bit"), data


def mail(index: int, rng: random.Random, earlier: list[tuple[str, str, str]]) -> bytes:
    """Mail number `index`; may reply to one of `earlier` (message-id, sender, subject)."""
    charset, subject, text = _TEXTS[index % len(_TEXTS)]
    sender = f"customer{rng.randint(1, 400)}@example.org"
    mid = f"bench-{index}@example.org"
    headers = [f"From: Customer {index} <{sender}>", f"To: {SUPPORT}", f"Message-ID: <{mid}>",
               "Date: Mon, 23 Nov 2026 10:00:00 +0100", "MIME-Version: 1.0"]
    kind = rng.random()
    if earlier and kind < 0.33:
        parent_id, sender, subject = rng.choice(earlier)
        headers[0] = f"From: {sender}"
        headers += [f"In-Reply-To: <{parent_id}>", f"References: <{parent_id}>"]
        subject = "Re: " + subject
    elif kind < 0.38:
        headers.append("Auto-Submitted: auto-replied")
        subject = "Out of office: " + subject
    else:
        earlier.append((mid, sender, subject))
    headers.append("Subject: " + _header(subject, charset))
    return _assemble(headers, charset, text, rng)


def _assemble(headers: list[str], charset: str, text: str, rng: random.Random) -> bytes:
    cte, body = _body(text, charset, rng)
    shape = rng.random()
    head = "\r\n".join(headers).encode()
    if shape < 0.6:
        return head + (f"\r\nContent-Type: text/plain; charset={charset}\r\n"
                       f"Content-Transfer-Encoding: {cte}\r\n\r\n").encode() + body
    html = f"<html><body><p>{text}</p><p><b>Regards</b></p></body></html>".encode(charset, "replace")
    parts = [(f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n").encode()
             + body,
             f"Content-Type: text/html; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".encode() + html]
    ctype = "alternative"
    if shape > 0.85:
        blob = base64.encodebytes(bytes(rng.getrandbits(8) for _ in range(rng.randint(2000, 30000))))
        parts.append(b"Content-Type: application/pdf; name=\"report.pdf\"\r\n"
                     b"Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
                     b"Content-Transfer-Encoding: base64\r\n\r\n" + blob)
        ctype = "mixed"
    boundary = f"==b{rng.getrandbits(48):x}"
    out = head + f"\r\nContent-Type: multipart/{ctype}; boundary=\"{boundary}\"\r\n\r\n".encode()
    for part in parts:
        out += f"--{boundary}\r\n".encode() + part + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def corpus(count: int, seed: int = 20261123) -> list[bytes]:
    rng = random.Random(seed)
    earlier: list[tuple[str, str, str]] = []
    return [mail(i, rng, earlier) for i in range(count)]
