"""survey.resolved_by: a rating counts for whoever resolved the round it rates

Revision ID: 0003_issue12_resolved_by
Revises: 0007_issue11_drop_job_run
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_issue12_resolved_by"
down_revision: str | None = "0007_issue11_drop_job_run"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_by", sa.BigInteger(), nullable=True))
    # A ticket cannot be reassigned while resolved, so the holder of a ticket's latest round
    # is who resolved it; earlier rounds' resolvers were never recorded and keep the fallback.
    op.execute(
        "UPDATE survey SET resolved_by = (SELECT ticket.agent_id FROM ticket"
        " WHERE ticket.id = survey.ticket_id AND ticket.round = survey.round)"
    )


def downgrade() -> None:
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_column("resolved_by")
