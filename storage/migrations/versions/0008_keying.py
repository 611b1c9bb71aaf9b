"""keying of handwritten records: tasks and keyings; each page's script (printed,
handwritten, mixed), its handwritten regions and the text search may hold

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 06:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("script", sa.String(length=12), nullable=False,
                                      server_default="printed"))
        batch_op.add_column(sa.Column("script_regions", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("index_text", sa.Text(), nullable=True))
    op.create_table(
        "keying_tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("prefill", sa.JSON(), nullable=False),
        sa.Column("disputed", sa.JSON(), nullable=False),
        sa.Column("final", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_by", sa.String(length=128), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("keying_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_keying_tasks_document_id"), ["document_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_keying_tasks_status"), ["status"], unique=False)
    op.create_table(
        "keyings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("keyer", sa.String(length=128), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["keying_tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "keyer", name="uq_keyings_task_keyer"),
    )
    with op.batch_alter_table("keyings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_keyings_keyer"), ["keyer"], unique=False)
        batch_op.create_index(batch_op.f("ix_keyings_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("keyings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_keyings_task_id"))
        batch_op.drop_index(batch_op.f("ix_keyings_keyer"))
    op.drop_table("keyings")
    with op.batch_alter_table("keying_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_keying_tasks_status"))
        batch_op.drop_index(batch_op.f("ix_keying_tasks_document_id"))
    op.drop_table("keying_tasks")
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.drop_column("index_text")
        batch_op.drop_column("script_regions")
        batch_op.drop_column("script")
