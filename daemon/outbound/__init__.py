"""Outbound mail: composing it, the reply templates, automatic mail and the outbox, the one way out.

compose    a mail built so that replies find their way back and nothing can be injected
replies    reply templates, rendered in a sandbox, and replies sent with them
automatic  what may be mailed without a person deciding (acknowledgements, notices), and what is held back
budget     how long a template may render and how much it may write
outbox     the queue every outgoing mail waits in, and the sender that drains it
possibly_sent  mail whose fate is unknown, settled by a person: send it again, or take it as arrived
installation_key  every daemon of one installation signs with one key (its fingerprint kept in the database)

Other packages call what is named below; front doors may also use the modules themselves.
"""
from daemon.outbound.automatic import acknowledges, render_pending, send_automatic
from daemon.outbound.compose import message_id_key, ticket_of_message_id
from daemon.outbound.outbox import (
    Sender, compose_notice, find_by_message_ids, mark_bounced, queue, queue_alert, send_due,
)
from daemon.outbound.replies import (
    Rendered, TemplateArticle, TemplateRefused, TemplateSupport, mail_templates_folder, render, save_template,
    send_templated,
)

__all__ = [
    "acknowledges", "render_pending", "send_automatic",
    "message_id_key", "ticket_of_message_id",
    "Sender", "compose_notice", "find_by_message_ids", "mark_bounced", "queue", "queue_alert", "send_due",
    "Rendered", "TemplateArticle", "TemplateRefused", "TemplateSupport", "mail_templates_folder", "render",
    "save_template", "send_templated",
]
