"""conversations and messages

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("sender_key", sa.String(200), nullable=True, unique=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "messages",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("buttons", sa.Text, nullable=False, server_default="[]"),
        sa.Column("author", sa.String(64), nullable=True),
        sa.Column("idem_key", sa.String(128), nullable=True),
        sa.Column("reply_to", sa.String(36), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("conversation_id", "idem_key", name="uq_messages_idem"),
    )
    op.create_index("ix_messages_conversation", "messages", ["conversation_id", "seq"])
    op.create_index("ix_conversations_token", "conversations", ["token_hash"])


def downgrade():
    op.drop_index("ix_conversations_token", "conversations")
    op.drop_index("ix_messages_conversation", "messages")
    op.drop_table("messages")
    op.drop_table("conversations")
