"""One stored message per mail, even with two workers racing.

Dedupe checks before it inserts; on PostgreSQL two transactions can both
pass the check. These partial unique indexes make the second insert fail,
and the pipeline then runs that mail again and finds the first.
"""


def up(migrator, db):
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS message_inbound_id_sender ON message (message_id, sender_address) "
        "WHERE kind = 'inbound' AND message_id IS NOT NULL")
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS message_inbound_raw ON message (raw_id) "
        "WHERE kind = 'inbound' AND message_id IS NULL")
