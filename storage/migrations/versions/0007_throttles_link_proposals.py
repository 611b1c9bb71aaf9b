"""attempt counters (sign-in and citizen throttling) and link proposals

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 20:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "throttles",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("throttles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_throttles_updated_at"), ["updated_at"],
                              unique=False)

    op.create_table(
        "link_proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("link_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_proposals_document_id"), ["document_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_link_proposals_status"), ["status"],
                              unique=False)


def downgrade() -> None:

    with op.batch_alter_table("link_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_proposals_status"))
        batch_op.drop_index(batch_op.f("ix_link_proposals_document_id"))
    op.drop_table("link_proposals")
    with op.batch_alter_table("throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_throttles_updated_at"))
    op.drop_table("throttles")
