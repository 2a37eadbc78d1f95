"""Run the handoff console for the widget's browser tests, with the public history route.

``python -m tests.browser.console_server``: the console app as ``python -m console``
builds it, plus ``console.public_history.register`` when the console does not already
serve ``GET /api/public/history`` itself.
"""

from __future__ import annotations

import logging
import sys

from console import public_history
from console.app import create_app
from console.settings import load_settings


def main() -> int:
    logging.basicConfig(level=logging.INFO)
    settings = load_settings()
    app = create_app(settings, name="kefu_console_widget_tests")
    routes = {route.path.strip("/") for route in app.router.routes}
    if public_history.ROUTE.strip("/") not in routes:
        public_history.register(app, settings)
    app.run(host=settings.host, port=settings.port, single_process=True, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
