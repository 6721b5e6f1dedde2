"""satisfaction ratings (one per conversation, with who gave the help)

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "csat",
        sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id"), primary_key=True),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("answered_by", sa.String(8), nullable=False),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("intent", sa.String(200), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_csat_updated", "csat", ["updated_at"])


def downgrade():
    op.drop_index("ix_csat_updated", "csat")
    op.drop_table("csat")
