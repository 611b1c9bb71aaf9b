"""each page's ALTO object and its scan as sent: declared, letter-implied and effective
resolution, colour depth, and the flags of what falls short of Circular 05/2025/TT-BNV

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alto_key", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("declared_dpi", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("content_dpi", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("effective_dpi", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dpi_source", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("colour_bits", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("colour_mode", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("scan_flags", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.drop_column("scan_flags")
        batch_op.drop_column("colour_mode")
        batch_op.drop_column("colour_bits")
        batch_op.drop_column("dpi_source")
        batch_op.drop_column("effective_dpi")
        batch_op.drop_column("content_dpi")
        batch_op.drop_column("declared_dpi")
        batch_op.drop_column("alto_key")
