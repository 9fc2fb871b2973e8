"""Explicit policies: rules that were tacit team knowledge, written down as data.

A policy has a condition over the customer's attributes and the ticket's
facts, and an action. Customers gain free-form attributes (monthly spend,
plan...), tickets a group and an escalated mark, and each firing of a policy
on a ticket is kept (once per policy and ticket).
"""
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        pass

    class User(Base):
        pass

    class PatrolReview(Base):
        pass

    class Policy(Base):
        name = CharField(max_length=100, unique=True)
        condition = TextField()
        action = CharField(max_length=200)
        enabled = BooleanField(default=True)
        description = TextField(default="")
        from_review = ForeignKeyField(PatrolReview, null=True, on_delete="SET NULL")
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField()

    class PolicyFiring(Base):
        policy = ForeignKeyField(Policy, on_delete="CASCADE")
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        created_at = DateTimeField(index=True)

        class Meta:
            indexes = ((("policy", "ticket"), True),)

    db.create_tables([Policy, PolicyFiring])
    migrator.migrate(
        migrator.add_column("customer", "attributes", TextField(default="{}")),
        migrator.add_column("ticket", "escalated", BooleanField(default=False)),
        migrator.add_column("ticket", "group_name", CharField(max_length=100, default="")),
    )
