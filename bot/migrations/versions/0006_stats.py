"""what the dashboard counts: each user message's intent and route, each ticket's first claim

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("first_claimed_at", sa.Float, nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("intent", sa.String(200), nullable=True))
        batch.add_column(sa.Column("route", sa.String(16), nullable=True))
    op.create_index("ix_messages_created", "messages", ["created_at"])
    op.create_index("ix_tickets_created", "tickets", ["created_at"])


def downgrade():
    op.drop_index("ix_tickets_created", "tickets")
    op.drop_index("ix_messages_created", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("route")
        batch.drop_column("intent")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("first_claimed_at")
