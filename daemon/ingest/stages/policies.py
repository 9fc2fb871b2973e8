"""Apply the team's explicit policies to the ticket a customer's mail opened or joined."""
from daemon import patrol


def run(ctx) -> None:
    if ctx.automatic:  # an auto-reply is not a customer's request
        return
    patrol.run_policies(ctx.config, ctx.ticket)
