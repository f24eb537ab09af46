"""offers on buys: the loaded offer a buy request's quote took off

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Requests made before this took no offer off (NULL).
    with op.batch_alter_table("buy_requests") as batch:
        batch.add_column(sa.Column("offer_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("offer_load_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("discount_amount", sa.Numeric(12, 2), nullable=True))
        batch.add_column(sa.Column("offer_label", sa.Text(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_buy_requests_offer_id_offers"),
            "offers",
            ["offer_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            op.f("fk_buy_requests_offer_load_id_offer_loads"),
            "offer_loads",
            ["offer_load_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index("ix_buy_requests_offer_load", "buy_requests", ["offer_load_id"])


def downgrade() -> None:
    op.drop_index("ix_buy_requests_offer_load", table_name="buy_requests")
    with op.batch_alter_table("buy_requests") as batch:
        batch.drop_constraint(op.f("fk_buy_requests_offer_load_id_offer_loads"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_buy_requests_offer_id_offers"), type_="foreignkey")
        batch.drop_column("offer_label")
        batch.drop_column("discount_amount")
        batch.drop_column("offer_load_id")
        batch.drop_column("offer_id")
