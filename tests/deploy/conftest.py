"""Tools the deployment checks run: missing ones skip locally with the reason and fail in CI."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Dict

import pytest

from tests.deploy import assets
from tests.services import require_ci_services


def _skip_or_fail(reason: str) -> None:
    if require_ci_services():
        pytest.fail(f"CI must have this tool: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def kubernetes_validate() -> Any:
    try:
        import kubernetes_validate as module
    except ImportError:
        _skip_or_fail("kubernetes-validate is not installed in this environment (pip install kubernetes-validate)")
    return module


@pytest.fixture(scope="session")
def check_jsonschema() -> str:
    tool = assets.venv_tool("check-jsonschema")
    if tool is None:
        _skip_or_fail("check-jsonschema is not installed in this environment (pip install check-jsonschema)")
    return str(tool)


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    for candidate in ("/usr/sbin/nginx", shutil.which("nginx")):
        if candidate and Path(candidate).exists():
            return candidate
    _skip_or_fail("nginx is not installed (Debian's nginx: apt-get install nginx; make test installs it)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def compose() -> Dict[str, Any]:
    """docker-compose.yml with deploy/env.example as .env, as compose would read it."""
    return assets.rendered_compose()
