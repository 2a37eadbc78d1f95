"""Baseline of the store store: the tables as release 0.x (commit b5e7bd9) made them with ``create_all``.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from typing import Any, Callable

import sqlalchemy as sa

from kernel.migrations.baseline import apply

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def schema(create_table: Callable[..., Any], create_index: Callable[..., Any]) -> None:
    create_table(
        "customers",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_customers_phone", "customers", ["phone"], unique=False)
    create_table(
        "locations",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=96), nullable=False),
        sa.Column("address_zh", sa.String(length=160), nullable=False),
        sa.Column("address_en", sa.String(length=200), nullable=False),
        sa.Column("hours", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_locations_city", "locations", ["city"], unique=False)
    create_table(
        "products",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name_zh", sa.String(length=96), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("brand", sa.String(length=48), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    create_table(
        "channel_identities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "external_id"),
    )
    create_index("ix_channel_identities_customer_id", "channel_identities", ["customer_id"], unique=False)
    create_table(
        "coupons",
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("title_zh", sa.String(length=64), nullable=False),
        sa.Column("title_en", sa.String(length=96), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("min_spend_cents", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    create_index("ix_coupons_customer_id", "coupons", ["customer_id"], unique=False)
    create_table(
        "orders",
        sa.Column("order_id", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contact_name", sa.String(length=64), nullable=False),
        sa.Column("contact_phone", sa.String(length=20), nullable=False),
        sa.Column("shipping_address", sa.String(length=200), nullable=False),
        sa.Column("subtotal_cents", sa.Integer(), nullable=False),
        sa.Column("shipping_fee_cents", sa.Integer(), nullable=False),
        sa.Column("discount_cents", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=True),
        sa.Column("tracking_number", sa.String(length=32), nullable=True),
        sa.Column("expected_delivery", sa.Date(), nullable=True),
        sa.Column("store_id", sa.String(length=16), nullable=True),
        sa.Column("payment_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refund_cents", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["locations.id"],
        ),
        sa.PrimaryKeyConstraint("order_id"),
    )
    create_index("ix_orders_created_at", "orders", ["created_at"], unique=False)
    create_index("ix_orders_customer_id", "orders", ["customer_id"], unique=False)
    create_index("ix_orders_status", "orders", ["status"], unique=False)
    create_table(
        "product_aliases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_id", sa.String(length=16), nullable=False),
        sa.Column("alias", sa.String(length=96), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_product_aliases_product_id", "product_aliases", ["product_id"], unique=False)
    create_table(
        "product_specs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_id", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value_zh", sa.String(length=200), nullable=False),
        sa.Column("value_en", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("product_id", "key"),
    )
    create_index("ix_product_specs_product_id", "product_specs", ["product_id"], unique=False)
    create_table(
        "skus",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=16), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("color_zh", sa.String(length=16), nullable=False),
        sa.Column("color_en", sa.String(length=24), nullable=False),
        sa.Column("size", sa.String(length=8), nullable=False),
        sa.Column("capacity", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    create_index("ix_skus_product_id", "skus", ["product_id"], unique=False)
    create_table(
        "order_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note_zh", sa.String(length=160), nullable=False),
        sa.Column("note_en", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "seq"),
    )
    create_index("ix_order_events_order_id", "order_events", ["order_id"], unique=False)
    create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=16), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku_code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=96), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=False),
        sa.Column("variant_zh", sa.String(length=64), nullable=False),
        sa.Column("variant_en", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_code"],
            ["skus.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "line_no"),
    )
    create_index("ix_order_lines_order_id", "order_lines", ["order_id"], unique=False)
    create_table(
        "restock_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sku_code", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=256), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=True),
        sa.Column("city", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_code"],
            ["skus.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku_code", "channel", "sender_id"),
    )
    create_index("ix_restock_subscriptions_sku_code", "restock_subscriptions", ["sku_code"], unique=False)
    create_table(
        "stock_levels",
        sa.Column("sku_code", sa.String(length=32), nullable=False),
        sa.Column("location_id", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_code"],
            ["skus.code"],
        ),
        sa.PrimaryKeyConstraint("sku_code", "location_id"),
    )


def upgrade() -> None:
    apply(schema, "store")


def downgrade() -> None:
    raise NotImplementedError("the baseline is not reverted: restore the backup taken before the upgrade")
