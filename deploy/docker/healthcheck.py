"""Container health check: ``python deploy/docker/healthcheck.py URL [--token-env NAME]``.

Exit 0 when URL answers 2xx within the timeout, 1 otherwise (Docker and compose read the exit
code). Standard library only, so the same file serves the Rasa image (Python 3.10) and the app
image (Python 3.11), whose slim bases have no curl. ``--token-env KEFU_RASA_TOKEN`` appends
``?token=...`` from that environment variable, for Rasa's token-protected ``/status``; the token
never appears in the container's configuration or in ``docker inspect``.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional, Sequence


def target(url: str, token: Optional[str]) -> str:
    if not token:
        return url
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{separator}{urllib.parse.urlencode({'token': token})}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--token-env", default=None, help="environment variable holding a ?token= value")
    parser.add_argument("--timeout", type=float, default=4.0)
    args = parser.parse_args(argv)
    token = os.environ.get(args.token_env, "") if args.token_env else None
    if args.token_env and not token:
        print(f"unhealthy: {args.token_env} is not set", file=sys.stderr)
        return 1
    try:
        with urllib.request.urlopen(target(args.url, token), timeout=args.timeout) as response:
            ok = 200 <= response.status < 300
    except (urllib.error.URLError, OSError) as error:
        print(f"unhealthy: {type(error).__name__}: {getattr(error, 'reason', error)}", file=sys.stderr)
        return 1
    if not ok:
        print(f"unhealthy: HTTP {response.status}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
