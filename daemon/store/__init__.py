"""The store: the database connection, the data model, and the numbered migrations.

db          one peewee proxy initialised from the config; pragmas, schema checks, hot-path SQL helpers
models      peewee models and short queries: data, no rules
migrations  numbered, frozen schema changes applied by `patroldesk db upgrade`
backup      the database, attachments and keys in one archive, restored into an empty installation
"""
