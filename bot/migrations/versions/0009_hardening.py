"""who started each conversation (a hashed client key), staff decisions on incidents, revoked
sign-in sessions, when a ticket last paged on-call

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("conversations", sa.Column("client", sa.String(64), nullable=True))
    op.add_column("incidents", sa.Column("status", sa.String(16), nullable=False, server_default="open"))
    op.add_column("incidents", sa.Column("decided_by", sa.String(64), nullable=True))
    op.add_column("incidents", sa.Column("decided_at", sa.Float, nullable=True))
    op.add_column("tickets", sa.Column("paged_at", sa.Float, nullable=True))
    op.create_table(
        "revoked_sessions",
        sa.Column("mac", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade():
    op.drop_table("revoked_sessions")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("paged_at")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("decided_at")
        batch.drop_column("decided_by")
        batch.drop_column("status")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("client")
