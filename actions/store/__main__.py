"""Command line: `python -m actions.store seed|serve|set-stock|set-order-status`.

``set-stock SKU LOCATION QUANTITY`` records a delivery (or a count) in the SQL store, as the seller's
inventory system would: the notifier (``python -m actions.notifier``) then tells the customers waiting for it.
``set-order-status ORDER STATUS`` moves an order on (and adds the step to its events), as the seller's order
system would: the notifier tells the conversations that looked the order up.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import List, Optional

from actions.store.factory import DEFAULT_DB_URL


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.store", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_seed = sub.add_parser("seed", help="create the demo store database")
    p_seed.add_argument("--url", default=os.environ.get("KEFU_STORE_DB_URL", DEFAULT_DB_URL))
    p_seed.add_argument("--force", action="store_true", help="replace an existing database")
    p_seed.add_argument("--if-empty", action="store_true", help="do nothing (exit 0) when data already exists")
    p_serve = sub.add_parser("serve", help="run the reference HTTP server of docs/store-api.md")
    p_serve.add_argument("--url", default=os.environ.get("KEFU_STORE_DB_URL", DEFAULT_DB_URL))
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8091)
    p_stock = sub.add_parser("set-stock", help="set one SKU's quantity at one location (a delivery, a count)")
    p_stock.add_argument("sku")
    p_stock.add_argument("location")
    p_stock.add_argument("quantity", type=int)
    p_stock.add_argument("--url", default=os.environ.get("KEFU_STORE_DB_URL", DEFAULT_DB_URL))
    p_order = sub.add_parser("set-order-status", help="move an order to a new status (the seller's order system)")
    p_order.add_argument("order_id")
    p_order.add_argument("status")
    p_order.add_argument("--url", default=os.environ.get("KEFU_STORE_DB_URL", DEFAULT_DB_URL))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from actions.store.sql import SqlStore

    _ensure_sqlite_dir(args.url)
    store = SqlStore(args.url)
    if args.command == "seed":
        from actions.store.seed import seed

        if args.if_empty and store.has_data():
            print("store database already seeded; nothing to do")
            return 0
        try:
            counts = seed(store, force=args.force)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print("seeded " + ", ".join(f"{k}={v}" for k, v in counts.items()))
        return 0
    if args.command in ("set-order-status", "set-stock"):
        from actions.store.types import StoreError

        try:
            if args.command == "set-stock":
                store.set_stock(args.sku, args.location, args.quantity)
                print(f"{args.sku} at {args.location}: {args.quantity}")
            else:
                store.set_order_status(args.order_id, args.status)
                print(f"{args.order_id}: {args.status}")
        except StoreError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    from actions.store.server import make_handler, serve

    if not store.has_data():
        print("error: the store database is empty; run `python -m actions.store seed` first", file=sys.stderr)
        return 1
    serve(
        make_handler(store, os.environ.get("KEFU_STORE_HTTP_TOKEN") or None),
        args.host,
        args.port,
        ready=lambda port: print(f"listening on http://{args.host}:{port}/api/v1", flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
