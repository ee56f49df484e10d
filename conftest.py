"""Test set-up shared by every app: the database, the services' actors, factories.

Also registers the browser-test fixtures (``tests/browser/fixtures.py``: a live server,
Debian's Chromium, ``log_in``, ``phone_page``, ``screenshot``) for every app, and makes
tests marked ``browser`` or ``mqtt`` skip when Chromium or the broker is missing, or
fail when ``CI`` is set.
"""

import os
import socket
from urllib.parse import urlsplit

import pytest

pytest_plugins = ["tests.browser.fixtures"]


@pytest.fixture(autouse=True)
def _db_for_all(db):
    """Every test may use the database (services write through it)."""


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Keep Argon2, with cheap parameters, so tests exercise the real hasher quickly."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    Argon2PasswordHasher.time_cost = 1
    Argon2PasswordHasher.memory_cost = 1024
    Argon2PasswordHasher.parallelism = 1
    yield


@pytest.fixture
def event():
    from eventguard.core.testing import make_event

    return make_event()


# ---------------------------------------------------------------- real services


def mqtt_test_url() -> str:
    return os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")


def _broker_answers(url: str) -> bool:
    parts = urlsplit(url)
    default_port = 8883 if parts.scheme in {"mqtts", "ssl"} else 1883
    try:
        socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2
        ).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    """The broker's URL (``MQTT_URL``, default mqtt://127.0.0.1:1883), once it answers."""
    from tests.browser.fixtures import require_or_skip

    url = mqtt_test_url()
    require_or_skip(_broker_answers(url), f"no MQTT broker answers at {url}")
    return url


def pytest_runtest_setup(item):
    from tests.browser.fixtures import CHROMIUM, chromium_available, require_or_skip

    if item.get_closest_marker("browser"):
        require_or_skip(chromium_available(), f"Chromium is not installed at {CHROMIUM}")
    if item.get_closest_marker("mqtt"):
        url = mqtt_test_url()
        require_or_skip(_broker_answers(url), f"no MQTT broker answers at {url}")


def pytest_collection_modifyitems(items):
    """Transactional tests (browser tests among them) flush the database when they end,
    which would take the rows the migrations seed (unit categories, the audit head) from
    the tests after them: restore those rows before each such test."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        marker = item.get_closest_marker("django_db")
        if marker is None:
            if "live_server" in names or "transactional_db" in names:
                item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
        elif (
            not marker.args
            and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
            and "serialized_rollback" not in marker.kwargs
        ):
            restoring = pytest.mark.django_db(**marker.kwargs, serialized_rollback=True)
            item.add_marker(restoring, append=False)
