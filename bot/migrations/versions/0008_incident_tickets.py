"""incident tickets get their own column instead of an "incident:" prefix in conversation_id

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("tickets", sa.Column("incident_id", sa.String(36), nullable=True))
    # Tickets written before: conversation_id "incident:<id>" (and open_key the same while open).
    op.execute("UPDATE tickets SET incident_id = SUBSTR(conversation_id, 10) WHERE conversation_id LIKE 'incident:%'")
    op.execute("UPDATE tickets SET open_key = incident_id WHERE incident_id IS NOT NULL AND open_key IS NOT NULL")
    op.execute("UPDATE tickets SET conversation_id = NULL WHERE incident_id IS NOT NULL")


def downgrade():
    op.execute("UPDATE tickets SET conversation_id = 'incident:' || incident_id WHERE incident_id IS NOT NULL")
    op.execute("UPDATE tickets SET open_key = conversation_id WHERE incident_id IS NOT NULL AND open_key IS NOT NULL")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("incident_id")
