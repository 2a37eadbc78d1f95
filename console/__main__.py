"""``python -m console``: run the handoff console (one process: the events tail and SSE hub live in it)."""

from __future__ import annotations

import logging
import sys

from console.app import create_app
from console.settings import load_settings


def main() -> int:
    logging.basicConfig(level=logging.INFO, format='{"level":"%(levelname)s","logger":"%(name)s","msg":"%(message)s"}')
    settings = load_settings()
    app = create_app(settings)
    app.run(host=settings.host, port=settings.port, single_process=True, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
