"""the inbox: update claims record their owner and whether the update was handled

Revision ID: 0003_issue12_inbox
Revises: 0001
Create Date: 2026-12-02 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003_issue12_inbox"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("processed_update", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
        )
        # Claims taken before the inbox were handled to the end or lost: either way, done.
        batch_op.add_column(
            sa.Column("done", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("processed_update", schema=None) as batch_op:
        batch_op.drop_column("done")
        batch_op.drop_column("owner")
