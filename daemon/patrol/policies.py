"""Explicit policies: conditions over customers and tickets, and what to do when they hold.

The team's tacit rule "customers who spend 10,000 a month are escalated at
their first request, the others at their third" becomes two policies:

    customer.monthly_spend >= 10000 and ticket.contact_count >= 1   ->  escalate
    customer.monthly_spend < 10000 and ticket.contact_count >= 3    ->  escalate

A condition is a small expression language, parsed with Python's `ast`
module in expression mode and walked here: names of the fixed variables
(VARIABLES), numbers, strings, true/false/none, lists of those, comparisons
(== != < <= > >= in, not in), and, or, not, and parentheses. Nothing else
is accepted (no calls, no attribute of anything but `customer` and
`ticket`, no arithmetic), and nothing is ever handed to `eval`. A condition
that does not parse, or names something unknown, is refused when the
policy is saved, with the column of the fault.

Policies run in the ingest pipeline for each customer mail on a ticket; those
whose condition reads the clock (CLOCK_VARIABLES) also run over the active
tickets on [sla] check_schedule (daemon.patrol.deadlines). Each acts at most
once per ticket; each firing is on the ticket's trail.
"""
from __future__ import annotations

import ast
import json
import logging
import operator
from dataclasses import dataclass
from functools import lru_cache

from daemon import outbound, tickets
from daemon.config import Config
from daemon.errors import NotFound, PatroldeskError
from daemon.languages import N_
from daemon.store import db
from daemon.store.db import database
from daemon.store.models import Customer, Policy, PolicyFiring, Ticket, User, utcnow

log = logging.getLogger("patroldesk.policies")

VARIABLES: dict[str, str] = {
    "customer.email": N_("the requester's address"),
    "customer.domain": N_("the part of the address after @"),
    "customer.tickets": N_("how many tickets the customer has opened, this one included"),
    "customer.language": N_("the language mail to them goes in (en, nb, ru...; '' while not known)"),
    "customer.<attribute>": N_("any attribute set with `patroldesk customer set` (monthly_spend, plan...); "
                               "none when not set"),
    "ticket.number": N_("the ticket's number"),
    "ticket.subject": N_("its subject"),
    "ticket.status": N_("new, open, pending, solved or closed"),
    "ticket.priority": N_("low, normal, high or urgent"),
    "ticket.group": N_("the group it is assigned to ('' when none)"),
    "ticket.escalated": N_("true once escalated"),
    "ticket.contact_count": N_("how many mails the customer has sent on this ticket, this one included"),
    "ticket.age_hours": N_("hours since the ticket was opened"),
    "ticket.business_hours_waiting": N_("business hours the customer has waited for our answer (0 while we "
                                        "wait for them)"),
    "ticket.first_answer_due_hours": N_("business hours left until the first answer is due (below 0: late; "
                                        "none once answered)"),
    "ticket.resolution_due_hours": N_("business hours left until solving it is due (below 0: late; none once "
                                      "solved)"),
    "ticket.first_answer_breached": N_("true when the first answer came late or is late"),
    "ticket.resolution_breached": N_("true when it was solved late or is late"),
}
# Conditions that read one of these change as time passes: they also run on [sla] check_schedule.
CLOCK_VARIABLES = ("age_hours", "business_hours_waiting", "first_answer_due_hours", "resolution_due_hours",
                   "first_answer_breached", "resolution_breached")
PRIORITIES = tickets.PRIORITIES
ACTIONS = ("priority:<low|normal|high|urgent>", "group:<name>", "escalate", "notify-reviewers")
_TICKET_FIELDS = {name.split(".", 1)[1] for name in VARIABLES if name.startswith("ticket.")}
_CUSTOMER_FIELDS = {"email", "domain", "tickets", "language"}


def _contains(haystack, needle) -> bool:
    """`x in [..]` is membership; `'word' in ticket.subject` looks in the text (never for empty text)."""
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle != "" and needle.casefold() in haystack.casefold()
    return haystack is not None and needle in haystack


_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.In: lambda a, b: _contains(b, a), ast.NotIn: lambda a, b: not _contains(b, a)}
_CONSTANTS = {"true": True, "false": False, "none": None}


class PolicyRefused(PatroldeskError):
    """A condition or action that cannot be used; says where and why."""


@dataclass(frozen=True)
class Firing:
    policy: str
    action: str
    changed: str  # what the action did, in words


# The language --------------------------------------------------------------

@lru_cache(maxsize=256)
def compile_condition(text: str) -> ast.expr:
    """The checked syntax tree of a condition; PolicyRefused names the column of the first fault."""
    source = " ".join(text.split())
    if not source:
        raise PolicyRefused(N_("the condition is empty"))
    if len(source) > MAX_CONDITION_LENGTH:
        raise PolicyRefused(N_("the condition is %(length)s characters long; at most %(most)s", length=len(source),
                               most=MAX_CONDITION_LENGTH))
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        column = exc.offset or 1
        raise PolicyRefused(_at_column(column, N_("cannot read it (%(problem)s)", problem=exc.msg), source)) from None
    except (RecursionError, MemoryError):
        raise PolicyRefused(N_("the condition nests too deeply (at most %(most)s levels)", most=MAX_DEPTH)) from None
    _check(tree, source)
    return tree


MAX_CONDITION_LENGTH = 2000
MAX_DEPTH = 30  # of and/or/not/comparisons inside each other: rules people write need a handful


def _at_column(column: int, why: str, source: str) -> str:
    """The refusal with the condition under it and a caret at the column of the fault."""
    return N_("condition, column %(column)s: %(why)s\n  %(source)s\n  %(caret)s", column=column, why=why,
              source=source, caret=" " * (column - 1) + "^")


def _check(node: ast.AST, source: str, depth: int = 0) -> None:
    def refuse(at: ast.AST, why: str):
        raise PolicyRefused(_at_column(getattr(at, "col_offset", 0) + 1, why, source))

    if depth > MAX_DEPTH:
        refuse(node, N_("nested more than %(most)s levels deep", most=MAX_DEPTH))
    depth += 1

    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, source, depth)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand, source, depth)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
        pass
    elif isinstance(node, ast.Compare):
        for op, right in zip(node.ops, node.comparators):
            if type(op) not in _COMPARE:
                refuse(node, N_("only == != < <= > >= in and not in compare"))
            if isinstance(op, (ast.In, ast.NotIn)) and not isinstance(right, (ast.List, ast.Tuple, ast.Attribute)):
                refuse(right, N_("in and not in look in a list ['a', 'b'] or in the text of a "
                                 "customer.<name> or ticket.<name>"))
        for part in (node.left, *node.comparators):
            _check(part, source, depth)
    elif isinstance(node, ast.Attribute):
        if not isinstance(node.value, ast.Name) or node.value.id not in ("customer", "ticket"):
            refuse(node, N_("only customer.<name> and ticket.<name> can be read"))
        if node.value.id == "ticket" and node.attr not in _TICKET_FIELDS:
            refuse(node, N_("ticket has no %(name)r (it has %(fields)s)", name=node.attr,
                            fields=", ".join(sorted(_TICKET_FIELDS))))
        if node.attr.startswith("_"):
            refuse(node, N_("names starting with _ are not attributes"))
    elif isinstance(node, ast.Name):
        if node.id not in _CONSTANTS:
            refuse(node, N_("unknown name %(name)r: use customer.<name>, ticket.<name>, true, false or none",
                            name=node.id))
    elif isinstance(node, ast.Constant):
        if node.value is not None and not isinstance(node.value, (int, float, str)):
            refuse(node, N_("only numbers, quoted text, true, false and none are values"))
    elif isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            if not isinstance(element, ast.Constant):
                refuse(element, N_("a list holds numbers and quoted text only"))
            _check(element, source, depth)
    else:
        refuse(node, N_("%(what)s is not part of the condition language (comparisons joined by and, or, not)",
                        what=type(node).__name__.lower()))


def evaluate(tree: ast.expr, facts: dict) -> bool:
    """Whether a checked condition holds for these facts ({'customer': {...}, 'ticket': {...}})."""
    return bool(_value(tree, facts))


def _value(node: ast.AST, facts: dict):
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_value(v, facts) for v in node.values)
        return any(_value(v, facts) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand, facts)
        return (not operand) if isinstance(node.op, ast.Not) else -operand
    if isinstance(node, ast.Compare):
        left = _value(node.left, facts)
        for op, right_node in zip(node.ops, node.comparators):
            right = _value(right_node, facts)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:  # none or text against a number: the condition does not hold
                return False
            left = right
        return True
    if isinstance(node, ast.Attribute):
        return facts[node.value.id].get(node.attr)
    if isinstance(node, ast.Name):
        return _CONSTANTS[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [element.value for element in node.elts]
    raise PolicyRefused(f"cannot evaluate {type(node).__name__}")  # _check lets nothing else through


def check_action(action: str) -> str:
    action = action.strip()
    kind, _, argument = action.partition(":")
    if kind == "priority" and argument in PRIORITIES:
        return action
    if kind == "group" and argument.strip() and len(argument) <= 100:
        return f"group:{argument.strip()}"
    if action in ("escalate", "notify-reviewers"):
        return action
    raise PolicyRefused(N_("action %(action)r: one of %(actions)s", action=action, actions=", ".join(ACTIONS)))


# Keeping policies --------------------------------------------------------------

def save_policy(name: str, condition: str, action: str, description: str = "", user: User | None = None,
                from_review=None) -> Policy:
    """Store a policy after checking its condition and action (replacing one of the same name)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise PolicyRefused(N_("a policy's name is 1 to 100 characters"))
    compile_condition(condition)
    action = check_action(action)
    with database.atomic():
        existing = Policy.get_or_none(Policy.name == name)
        if existing is not None:
            Policy.update(condition=condition, action=action, description=description, enabled=True).where(
                Policy.id == existing.id).execute()
            return Policy.get_by_id(existing.id)
        return Policy.create(name=name, condition=condition, action=action, description=description,
                             created_by=user, from_review=from_review)


def get_policy(name: str) -> Policy:
    policy = Policy.get_or_none(Policy.name == name)
    if policy is None:
        raise NotFound(N_("no policy named %(name)r (see `patroldesk policy list`)", name=name))
    return policy


def set_customer_attributes(email: str, values: dict) -> Customer:
    customer = Customer.get_or_none(Customer.email == email.strip().lower())
    if customer is None:
        raise NotFound(N_("no customer %(email)r: customers appear with their first mail", email=email))
    attributes = json.loads(customer.attributes or "{}")
    for key, value in values.items():
        if not key.isidentifier() or key.startswith("_") or key in _CUSTOMER_FIELDS:
            raise PolicyRefused(N_("%(key)r cannot be a customer attribute (a name of letters, digits and _, "
                                   "not %(fields)s)", key=key, fields=", ".join(sorted(_CUSTOMER_FIELDS))))
        if value is None:
            attributes.pop(key, None)
        else:
            attributes[key] = value
    Customer.update(attributes=json.dumps(attributes, ensure_ascii=False)).where(Customer.id == customer.id).execute()
    return Customer.get_by_id(customer.id)


# Running them -------------------------------------------------------------

def reads_the_clock(condition: str) -> bool:
    """Whether a condition reads a variable that changes with time alone (no mail needed)."""
    try:
        tree = compile_condition(condition)
    except PolicyRefused:
        return False
    return any(isinstance(node, ast.Attribute) and node.attr in CLOCK_VARIABLES
               and isinstance(node.value, ast.Name) and node.value.id == "ticket" for node in ast.walk(tree))


def facts_for(ticket: Ticket, config: Config | None = None) -> dict:
    """What conditions can read about this ticket and its requester, as they stand now (the business-hours
    figures need `config`; without it they are none)."""
    row = db.execute('SELECT "email", "attributes", "language" FROM "customer" WHERE "id" = ?',
                     (ticket.requester_id,)).fetchone()
    email, attributes, language = row[0], json.loads(row[1] or "{}"), row[2]
    (number, subject, status, priority, group_name, escalated, created, last_speaker, waiting_since, respond_by,
     answered, resolve_by, resolved) = db.execute(
        'SELECT "number", "subject", "status", "priority", "group_name", "escalated", "created_at", "last_speaker", '
        '"waiting_since", "respond_by", "first_response_at", "resolve_by", "resolved_at" FROM "ticket" '
        'WHERE "id" = ?', (ticket.id,)).fetchone()
    contacts = db.execute('SELECT COUNT(*) FROM "message" WHERE "ticket_id" = ? AND "kind" = ? '
                          'AND "sender_address" = ?',
                          (ticket.id, "inbound", email)).fetchone()[0]
    opened = db.execute('SELECT COUNT(*) FROM "ticket" WHERE "requester_id" = ?', (ticket.requester_id,)).fetchone()[0]
    moment = lambda value: Ticket.created_at.python_value(value)  # noqa: E731 - text on SQLite, datetime on PostgreSQL
    now = utcnow()
    facts = {"number": number, "subject": subject, "status": status, "priority": priority,
             "group": group_name, "escalated": bool(escalated), "contact_count": contacts,
             "age_hours": round((now - moment(created)).total_seconds() / 3600, 2),
             "business_hours_waiting": None, "first_answer_due_hours": None, "resolution_due_hours": None,
             "first_answer_breached": None, "resolution_breached": None}
    if config is not None:
        hours = tickets.hours.for_team(config, group_name)
        since = moment(waiting_since) if waiting_since else None
        facts["business_hours_waiting"] = (round(hours.between(since, now) / 60, 2)
                                           if last_speaker == "customer" and since else 0)
        for name, due, met in (("first_answer", respond_by, answered), ("resolution", resolve_by, resolved)):
            due, met = moment(due) if due else None, moment(met) if met else None
            facts[f"{name}_due_hours"] = round(hours.between(now, due) / 60, 2) if due and not met else None
            facts[f"{name}_breached"] = bool(due and (met or now) > due)
    return {
        "customer": {**attributes, "email": email, "domain": email.rpartition("@")[2], "tickets": opened,
                     "language": language},
        "ticket": facts,
    }


def run_policies(config: Config, ticket: Ticket, dry_run: bool = False, only_timed: bool = False) -> list[Firing]:
    """Apply every enabled policy whose condition holds and that has not yet acted on this ticket.
    With `dry_run`, say what would happen (ignoring earlier firings) and change nothing; with
    `only_timed`, consider only the policies whose condition reads the clock."""
    policies = db.execute('SELECT "id", "name", "condition", "action" FROM "policy" WHERE "enabled" = ? ORDER BY "id"',
                          (True,)).fetchall()
    if only_timed:
        policies = [row for row in policies if reads_the_clock(row[2])]
    if not policies:
        return []
    facts = facts_for(ticket, config)
    fired = set() if dry_run else {row[0] for row in db.execute(
        'SELECT "policy_id" FROM "policy_firing" WHERE "ticket_id" = ?', (ticket.id,)).fetchall()}
    firings = []
    for policy_id, name, condition, action in policies:
        if policy_id in fired:
            continue
        try:
            holds = evaluate(compile_condition(condition), facts)
        except (PolicyRefused, RecursionError, MemoryError) as exc:  # saved before a rule changed: skip it, loudly
            log.error("policy %r cannot run: %s", name, exc or type(exc).__name__)
            continue
        if not holds:
            continue
        if dry_run:
            firings.append(Firing(name, action, _describe(action)))
            continue
        # The firing first: whoever records it (the pipeline, the scheduled run, another daemon) acts, once.
        if not db.insert_if_absent(PolicyFiring, policy=policy_id, ticket=ticket.id, created_at=utcnow()):
            continue
        changed = _act(config, ticket, action, facts)
        firings.append(Firing(name, action, changed))
        tickets.audit(ticket, "policy fired", {"policy": name, "condition": condition, "action": action,
                                               "changed": changed})
    return firings


def _describe(action: str) -> str:
    kind, _, argument = action.partition(":")
    return {"priority": f"priority {argument}", "group": f"assigned to group {argument}",
            "escalate": "escalated", "notify-reviewers": "reviewers notified"}.get(kind, action)


def _act(config: Config, ticket: Ticket, action: str, facts: dict) -> str:
    kind, _, argument = action.partition(":")
    if kind == "priority":
        tickets.set_priority(config, ticket, argument)
    elif kind == "group":
        tickets.set_group(config, ticket, argument)
    elif kind == "escalate":
        Ticket.update(escalated=True).where(Ticket.id == ticket.id).execute()
    elif kind == "notify-reviewers":
        _notify_reviewers(config, ticket, facts)
    return _describe(action)


def _notify_reviewers(config: Config, ticket: Ticket, facts: dict) -> None:
    to = [u.email for u in User.select(User.email).where(
        User.role.in_(("reviewer", "admin")) & User.active & (User.email != ""))]
    if not to:
        log.warning("ticket #%s: a policy would notify the reviewers, but none has an e-mail address",
                    facts["ticket"]["number"])
        return
    body = (f"Ticket #{facts['ticket']['number']} ({facts['ticket']['subject']}) from {facts['customer']['email']} "
            f"met a policy that asks for the reviewers' attention.\n\n"
            f"See: patroldesk tickets show {facts['ticket']['number']}\n")
    subject = f"[patroldesk] ticket #{facts['ticket']['number']} needs a look"
    message = outbound.compose_notice(config, to, subject, body)
    message["Auto-Submitted"] = "auto-generated"
    outbound.queue(config, message, "policy", ticket=ticket.id)
