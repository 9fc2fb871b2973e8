"""Numbered schema migrations, applied in order by `patroldesk db upgrade`.

Each file freezes the models it creates, independent of daemon.store.models,
so that an old database upgrades the same way forever.
"""
