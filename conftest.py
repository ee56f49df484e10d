"""Test set-up shared by every app: the database, the services' actors, factories."""

import os

os.environ.setdefault("EVENTGUARD_HOME", os.path.join(os.path.dirname(__file__), ".test-home"))

import pytest  # noqa: E402


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
