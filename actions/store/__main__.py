"""Command line: `python -m actions.store seed|serve`."""

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
    p_serve.add_argument("--faults", action="store_true", help="enable POST /_faults (tests only)")
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
    from actions.store.server import serve

    if not store.has_data():
        print("error: the store database is empty; run `python -m actions.store seed` first", file=sys.stderr)
        return 1
    serve(
        store,
        args.host,
        args.port,
        os.environ.get("KEFU_STORE_HTTP_TOKEN") or None,
        args.faults,
        ready=lambda port: print(f"listening on http://{args.host}:{port}/api/v1", flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
