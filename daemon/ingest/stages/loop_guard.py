"""Know who sent the mail, and whether it may ever be answered.

Marks automatic mail (auto-replies, bounces, lists) so no later stage
answers it, and discards mail that comes from our own support addresses.
A person's mail that names no sender at all still becomes a ticket, one
with no reply address (daemon.tickets.reply_refusal): agents read it, and
nothing is ever sent to it.
"""
from daemon.errors import Discard, Quarantine
from daemon.mail.addresses import addr_spec
from daemon.mail.classify import classify_envelope
from daemon.mail.parse import Address

MAX_ADDRESS_LENGTH = 320  # RFC 5321 allows 64 + 1 + 255


def run(ctx) -> None:
    ctx.sender = _sender(ctx.mail.sender, _envelope_sender(ctx.inbound.mail_from))
    automatic = ctx.mail.automatic or classify_envelope(ctx.inbound.mail_from)
    if ctx.sender is None and automatic:
        raise Discard(f"automatic mail ({automatic}) with no sender address")
    ctx.automatic = automatic
    if ctx.sender is None:
        return
    if len(ctx.sender.key) > MAX_ADDRESS_LENGTH:
        raise Quarantine(f"the sender address is {len(ctx.sender.key)} characters long; "
                         f"no real address has more than {MAX_ADDRESS_LENGTH}")
    if ctx.sender.key in ctx.config.our_addresses:
        raise Discard(f"sent from our own support address {ctx.sender.key}: a mail loop")


def _sender(written: Address | None, envelope: Address | None) -> Address | None:
    """The headers' sender, unless it is no mail address and the envelope's is one."""
    if written is None or (envelope is not None and addr_spec(written.addr) is None):
        return envelope or written
    return written


def _envelope_sender(mail_from: str | None) -> Address | None:
    spec = addr_spec(mail_from.strip("<> ")) if mail_from else None
    return Address(name="", addr=spec) if spec else None
