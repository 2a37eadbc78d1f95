"""Every database URL the deployments hand Kefu's processes opens with the drivers the images install.

SQLAlchemy 2.1 (the app image) reads a bare ``postgresql://`` as psycopg 3, which neither image installs (both have
psycopg2, the driver the tests use); SQLAlchemy 1.4 (the Rasa image) reads it as psycopg2. A bare URL therefore
started Rasa and stopped the console, the action servers and the notifiers with ``No module named 'psycopg'``. The
deployments name the driver: ``postgresql+psycopg2://``, which both read the same way. No connection is made here:
``create_engine`` only loads the driver."""

from __future__ import annotations

from typing import Dict

import pytest
import sqlalchemy as sa

from tests.deploy import assets

K8S_CONFIG, K8S_SECRET = assets.k8s_environment(assets.k8s_documents())


def database_urls() -> Dict[str, str]:
    urls: Dict[str, str] = {}
    compose = assets.rendered_compose()
    for name, service in assets.kefu_services(compose).items():
        for key, value in assets.service_environment(service).items():
            if key.endswith("_DB_URL") and value:
                urls[f"compose {name} {key}"] = value
    for key, value in {**K8S_CONFIG, **K8S_SECRET}.items():
        if key.endswith("_DB_URL") and value:
            urls[f"kubernetes {key}"] = value
    return urls


URLS = database_urls()


def test_the_deployments_hand_out_database_urls() -> None:
    assert any(k.startswith("compose") for k in URLS) and any(k.startswith("kubernetes") for k in URLS), URLS


@pytest.mark.parametrize("where", sorted(URLS))
def test_each_database_url_opens_with_the_installed_driver(where: str) -> None:
    url = URLS[where]
    if url.startswith("postgresql"):
        assert url.startswith("postgresql+psycopg2://"), f"{where}: name the driver (postgresql+psycopg2://)"
    sa.create_engine(url).dispose()  # loads the driver: a missing one raises ModuleNotFoundError
