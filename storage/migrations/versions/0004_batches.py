"""batches, batch files, page jobs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 01:34:35.794048
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "page_jobs",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("starts", sa.Integer(), nullable=False),
        sa.Column("crashes", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("document_id", "number"),
    )
    with op.batch_alter_table("page_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_jobs_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_page_jobs_finished_at"), ["finished_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_page_jobs_state"), ["state"], unique=False)

    op.create_table(
        "batch_files",
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("file", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("batch_id", "file"),
    )


def downgrade() -> None:

    op.drop_table("batch_files")
    with op.batch_alter_table("page_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_jobs_state"))
        batch_op.drop_index(batch_op.f("ix_page_jobs_finished_at"))
        batch_op.drop_index(batch_op.f("ix_page_jobs_batch_id"))

    op.drop_table("page_jobs")
    op.drop_table("batches")
