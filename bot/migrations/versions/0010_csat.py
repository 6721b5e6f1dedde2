"""satisfaction ratings (one per conversation, with who gave the help); what conversations teach
(labelled and unanswered questions, for the editors' suggestions); model promotions (which model the
desk serves) and the model that wrote each bot reply; canned replies; answer feedback (help center and chat); the e-mail channel's inbox, outbox and threads

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
    op.create_table(
        "learning_signals",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("lang", sa.String(16), nullable=True),
        sa.Column("conversation_id", sa.String(36), nullable=True),
        sa.Column("count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("status", sa.String(12), nullable=False, server_default="open"),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_learning_signals_status", "learning_signals", ["status", "updated_at"])
    op.create_table(
        "model_promotions",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("previous_seq", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.add_column("messages", sa.Column("model", sa.String(160), nullable=True))
    op.create_table(
        "answer_feedback",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("faq_id", sa.String(128), nullable=False),
        sa.Column("helpful", sa.Boolean, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("lang", sa.String(16), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_answer_feedback_faq", "answer_feedback", ["faq_id", "created_at"])
    op.create_table(
        "mail_inbox",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(255), nullable=False, unique=True),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("conversation_id", sa.String(36), nullable=True),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("ix_mail_inbox_status", "mail_inbox", ["status", "seq"])
    op.create_index("ix_mail_inbox_sender", "mail_inbox", ["sender", "received_at"])
    op.create_table(
        "mail_outbox",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(255), nullable=False, unique=True),
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_mail_outbox_due", "mail_outbox", ["status", "next_at"])
    op.create_table(
        "mail_threads",
        sa.Column("message_id", sa.String(255), primary_key=True),
        sa.Column("conversation_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("lang", sa.String(16), nullable=True),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade():
    op.drop_table("mail_threads")
    op.drop_index("ix_mail_outbox_due", "mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_index("ix_mail_inbox_sender", "mail_inbox")
    op.drop_index("ix_mail_inbox_status", "mail_inbox")
    op.drop_table("mail_inbox")
    op.drop_index("ix_answer_feedback_faq", "answer_feedback")
    op.drop_table("answer_feedback")
    op.drop_table("canned_replies")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("model")
    op.drop_table("model_promotions")
    op.drop_index("ix_learning_signals_status", "learning_signals")
    op.drop_table("learning_signals")
    op.drop_index("ix_csat_updated", "csat")
    op.drop_table("csat")
