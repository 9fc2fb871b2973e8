"""Tickets: customers, the ticket lifecycle, the agents' queue and finding tickets by their words.

lifecycle  customers, opening, appending mail, notes, assignment, priority and the SLA clock, the audit trail
queue      the agents' queue: filtered, searched, sorted and paged in one deliberate query
search     full-text search over the subject and visible text of every message
customer_language  the language a customer is written to in: detected, or set by a person
hours      business hours per team, and the deadlines counted in them

Other packages call what is named below; front doors may also use the queue and search modules.
"""
from daemon.tickets.lifecycle import (
    PRIORITIES, add_note, assign, audit, customer_for, get_ticket, is_participant, list_tickets, open_ticket,
    record_inbound, record_outbound, reply_refusal, respond_by, set_group, set_priority, tagged_number,
    ticket_detail, ticket_for_update, untagged,
)
from daemon.tickets import hours
from daemon.tickets.customer_language import LanguageRefused, learn_language, set_customer_language, writing_language

__all__ = [
    "PRIORITIES", "add_note", "assign", "audit", "customer_for", "get_ticket", "is_participant", "list_tickets",
    "open_ticket", "record_inbound", "record_outbound", "reply_refusal", "respond_by", "set_group", "set_priority",
    "tagged_number", "ticket_detail", "ticket_for_update", "untagged",
    "hours", "LanguageRefused", "learn_language", "set_customer_language", "writing_language",
]
