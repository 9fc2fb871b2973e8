"""The command line of explicit policies: `policy list|add|test|disable`, and `customer set|language`.

Registered on the `patroldesk` group by daemon.cli; the rules live in daemon.patrol.policies.
"""
from __future__ import annotations

import json

import click

from daemon import tickets
from daemon.cli.root import App, cli, pass_app, print_json, ticket_number
from daemon.errors import PatroldeskError
from daemon.patrol import policies, policy_state
from daemon.store.models import Customer, Policy, User


@cli.group("policy")
def policy_group():
    """Explicit policies: when a condition holds for a ticket, an action.

    Conditions read customer.<attribute> and ticket.<fact> (see `policy add --help`)."""


@policy_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def policy_list(app: App, as_json):
    """Every policy, with how often it has fired."""
    app.database()
    for policy in Policy.select().order_by(Policy.id):
        fired = policy.firings.count()
        if as_json:
            print_json({"name": policy.name, "condition": policy.condition, "action": policy.action,
                         "enabled": policy.enabled, "fired": fired, "description": policy.description,
                         "from_review": policy.from_review_id})
            continue
        state = "" if policy.enabled else " (disabled)"
        click.echo(f"{policy.name}{state}: when {policy.condition} -> {policy.action}  (fired {fired} times)")
        if policy.description:
            click.echo(f"    {policy.description}")


_VARIABLES_HELP = "; ".join(f"{name}: {what}" for name, what in policies.VARIABLES.items())


@policy_group.command("add", help=f"""Add (or replace) policy NAME.

\b
CONDITION uses comparisons (== != < <= > >= in, not in) joined by and, or,
not, over these: {_VARIABLES_HELP}.
ACTION is one of {', '.join(policies.ACTIONS)}.
Example: patroldesk policy add big-spenders-first --when
"customer.monthly_spend >= 10000 and ticket.contact_count >= 1" --then escalate""")
@click.argument("name")
@click.option("--when", "condition", required=True, metavar="CONDITION")
@click.option("--then", "action", required=True, metavar="ACTION")
@click.option("--description", default="", help="Why the team has this rule.")
@click.option("--from-review", type=int, metavar="REVIEW_ID", help="The review whose decision this policy is.")
@click.option("--as", "username", metavar="USER", help="Who writes it (a reviewer or admin).")
@pass_app
def policy_add(app: App, name, condition, action, description, from_review, username):
    app.database()
    user = None
    if username:
        user = User.get_or_none(User.username == username)
        if user is None or user.role not in ("reviewer", "admin"):
            raise PatroldeskError(f"{username!r} is not a reviewer or admin account")
    review = None
    if from_review is not None:
        from daemon.store.models import PatrolReview
        review = PatrolReview.get_or_none(PatrolReview.id == from_review)
        if review is None:
            raise PatroldeskError(f"no review {from_review} (see `patroldesk patrol show REPORT`)")
    policy = policies.save_policy(name, condition, action, description, user=user, from_review=review)
    click.echo(f"policy {policy.name}: when {policy.condition} -> {policy.action}")


@policy_group.command("disable")
@click.argument("name")
@pass_app
def policy_disable(app: App, name):
    """Stop a policy from acting; its firings stay on the tickets' trails."""
    app.database()
    policy_state.set_enabled(name, False)
    click.echo(f"policy {name} disabled")


@policy_group.command("test")
@click.argument("ref")
@pass_app
def policy_test(app: App, ref):
    """Show the facts policies see for ticket REF and which policies would act now; changes nothing."""
    app.database()
    ticket = tickets.get_ticket(ticket_number(ref))
    facts = policies.facts_for(ticket, app.config)
    click.echo(f"ticket #{ticket.number}: {json.dumps(facts, ensure_ascii=False, sort_keys=True)}")
    would = policies.run_policies(app.config, ticket, dry_run=True)
    for policy in Policy.select().where(Policy.enabled).order_by(Policy.id):
        mark = next((f"holds -> {f.changed}" for f in would if f.policy == policy.name), "does not hold")
        click.echo(f"  {policy.name}: {mark}")


@cli.group("customer")
def customer_group():
    """Customers: their attributes, for policies to read, and the language mail to them goes in."""


@customer_group.command("set")
@click.argument("email")
@click.argument("pairs", nargs=-1, required=True, metavar="KEY=VALUE...")
@pass_app
def customer_set(app: App, email, pairs):
    """Set attributes of the customer with address EMAIL (KEY= with no value removes KEY).

    Numbers stay numbers: monthly_spend=12000 compares with >= 10000."""
    app.database()
    values = {}
    for pair in pairs:
        key, equals, raw = pair.partition("=")
        if not equals:
            raise click.UsageError(f"{pair!r}: write KEY=VALUE")
        values[key.strip()] = _value(raw.strip())
    customer = policies.set_customer_attributes(email, values)
    click.echo(f"{customer.email}: {customer.attributes}")


@customer_group.command("language")
@click.argument("email")
@click.argument("code", required=False)
@click.option("--as", "username", metavar="USER", help="Who sets it (their name goes on the trail).")
@pass_app
def customer_language(app: App, email, code, username):
    """Show or set the language mail to the customer EMAIL goes in.

    CODE is one of en, nb, nn, ru, sv, da, de, fr, uk; a set language wins over the one detected in
    their mail. "auto" gives it back to detection. Without CODE, shows it and where it came from."""
    app.database()
    customer = Customer.get_or_none(Customer.email == email.strip().lower())
    if customer is None:
        raise PatroldeskError(f"no customer {email!r}")
    if code is not None:
        actor = User.get_or_none(User.username == username) if username else None
        if username and actor is None:
            raise PatroldeskError(f"no account {username!r}")
        customer = tickets.set_customer_language(customer, "" if code == "auto" else code, actor=actor)
    source = {"set": "set by a person", "detected": "detected in their mail"}.get(customer.language_source, "")
    writes = tickets.writing_language(app.config, customer)
    click.echo(f"{customer.email}: {customer.language or 'not known'}" + (f" ({source})" if source else "")
               + f"; mail goes in {writes} where a template has it")


def _value(raw: str):
    if raw == "":
        return None
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(raw.lower(), raw)

