"""Know who sent the mail, and whether it may ever be answered.

Marks automatic mail (auto-replies, bounces, lists) so no later stage
answers it, and discards mail that comes from our own support addresses.
"""
from daemon.errors import Discard, Quarantine
from daemon.mail.classify import classify_envelope
from daemon.mail.parse import Address

MAX_ADDRESS_LENGTH = 320  # RFC 5321 allows 64 + 1 + 255


def run(ctx) -> None:
    ctx.sender = ctx.mail.sender or _envelope_sender(ctx.inbound.mail_from)
    automatic = ctx.mail.automatic or classify_envelope(ctx.inbound.mail_from)
    if ctx.sender is None and automatic:
        raise Discard(f"automatic mail ({automatic}) with no sender address")
    if ctx.sender is None:
        raise Quarantine("the mail names no sender (no From, Reply-To, Sender, Return-Path or envelope sender)")
    if len(ctx.sender.key) > MAX_ADDRESS_LENGTH:
        raise Quarantine(f"the sender address is {len(ctx.sender.key)} characters long; "
                         f"no real address has more than {MAX_ADDRESS_LENGTH}")
    ctx.automatic = automatic
    if ctx.sender.key in ctx.config.our_addresses:
        raise Discard(f"sent from our own support address {ctx.sender.key}: a mail loop")


def _envelope_sender(mail_from: str | None) -> Address | None:
    return Address(name="", addr=mail_from) if mail_from and "@" in mail_from else None
