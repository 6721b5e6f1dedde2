"""tickets: the human queue

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tickets",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("conversation_id", sa.String(64), nullable=True),
        sa.Column("open_key", sa.String(64), nullable=True, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("domain", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=True),
        sa.Column("claim_token", sa.Integer, nullable=False, server_default="0"),
        sa.Column("breached", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("resolved_at", sa.Float, nullable=True),
        sa.Column("packet", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_tickets_queue", "tickets", ["status", "priority", "due_at", "seq"])


def downgrade():
    op.drop_index("ix_tickets_queue", "tickets")
    op.drop_table("tickets")
