"""Reply templates a team writes for itself.

Built-in templates are files under templates/mail; a team's own are rows,
edited from the console, and win over a file of the same name. Who changed
a template last is kept; removing that account leaves the template alone.
"""
from peewee import CharField, DateTimeField, ForeignKeyField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        pass

    class ReplyTemplate(Base):
        name = CharField(max_length=64, unique=True)
        subject = TextField()
        text = TextField()
        html = TextField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    db.create_tables([ReplyTemplate])
