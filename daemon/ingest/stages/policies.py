"""Apply the team's explicit policies to the ticket a customer's mail opened or joined."""
from daemon.patrol import policies


def run(ctx) -> None:
    if ctx.automatic:  # an auto-reply is not a customer's request
        return
    policies.run_policies(ctx.config, ctx.ticket)
