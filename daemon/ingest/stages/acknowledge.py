"""Acknowledge a new ticket: the customer learns their mail arrived, and its reference.

Only for mail that opened a ticket, only where the mailbox (or [smtp], for
mail handed to the listener) says so, and only within daemon.outbound.automatic's
limits. The acknowledgement is queued in the mail's own transaction: it
exists exactly when the ticket does. Mail brought over by `import` is not
acknowledged unless the import asked (`--acknowledge`): it was written long ago.
"""
import json

from daemon import outbound


def run(ctx) -> None:
    if ctx.outcome != "created" or not outbound.acknowledges(ctx.config, ctx.inbound.mailbox):
        return
    if ctx.inbound.origin == "import" and not json.loads(ctx.inbound.origin_detail or "{}").get("acknowledge"):
        return
    outbound.send_automatic(ctx.config, ctx.ticket, ctx.config.autoreply.acknowledgement_template,
                             "acknowledgement", automatic_cause=ctx.automatic)
