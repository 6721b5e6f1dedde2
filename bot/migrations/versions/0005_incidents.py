"""incidents, and the intent of each ticket

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("intent", sa.String(200), nullable=True))
    op.create_index("ix_tickets_intent_created", "tickets", ["intent", "created_at"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("intent", sa.String(200), nullable=False),
        sa.Column("open_key", sa.String(200), nullable=True, unique=True),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("conversations", sa.Text, nullable=False, server_default="[]"),
    )


def downgrade():
    op.drop_table("incidents")
    op.drop_index("ix_tickets_intent_created", "tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("intent")
