"""Store the same mail once, however often it is delivered.

The same Message-ID from the same sender is a duplicate; a mail without a
Message-ID is a duplicate when its exact bytes were stored before.
"""
from daemon.errors import Discard
from daemon.models import Message, Ticket


def run(ctx) -> None:
    if ctx.mail.message_id:
        query = Message.message_id == ctx.mail.message_id
    else:
        query = Message.raw == ctx.inbound.raw_id
    for prior in Message.select(Message.id, Message.sender_address, Message.kind, Ticket.number
                                ).join(Ticket).where(query):
        # A reused Message-ID from someone else is a different mail, not a copy.
        if prior.sender_address == ctx.sender.key or prior.kind != "inbound" or not ctx.mail.message_id:
            raise Discard(f"duplicate of message {prior.id} on ticket #{prior.ticket.number}",
                          "duplicate", prior.ticket.number)
