"""Browser-test fixtures for every app: a real Chromium, driven by Playwright, against a
live EventGuard server. The root ``conftest.py`` registers this module as a pytest plugin,
so its fixtures are available to tests anywhere in the repository.

How an app writes a browser test
--------------------------------
Put it in ``src/eventguard/<app>/tests/test_browser_<topic>.py``::

    import pytest
    from playwright.sync_api import expect

    from eventguard.core.testing import make_event, make_member
    from tests.browser.fixtures import log_in

    pytestmark = pytest.mark.browser


    def test_inspector_sees_the_checklist(page, screenshot):
        event = make_event()
        inspector = make_member(event, "inspector")
        log_in(page, inspector.username)
        page.goto(f"/e/{event.code}/food/inspections/")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        screenshot(page, "inspections")


    def test_the_list_fits_a_phone(phone_page):
        ...  # a 390x844 touch screen; log_in(phone_page, ...) works the same

What the fixtures give:

- ``page`` (pytest-playwright) opens pages of the live server: ``page.goto("/login/")``
  is relative to ``live_server.url``. Any test that uses a page therefore runs on a
  transactional database (data a test creates is committed, so the server thread sees
  it) and is sorted after the plain database tests.
- ``phone_page``: a page in a 390x844 touch screen context (``phone_viewport`` holds
  the context options, for ``new_context(**phone_viewport)``).
- ``log_in(page, username, password=TEST_PASSWORD)`` (a plain function, not a fixture)
  logs in through the real login page and fails the test with the page's error
  message when the login is refused.
- ``screenshot(page, name)`` saves a full-page PNG, numbered in the order taken, under
  ``$EVENTGUARD_SCREENSHOTS/<test name>/`` when that variable is set (to look at the
  pages afterwards), else in the test's temporary directory.

The browser is Debian's ``/usr/bin/chromium`` (``apt-get install chromium``); never run
``playwright install``. Mark browser tests ``@pytest.mark.browser``: without Chromium
they are skipped, or fail when ``CI`` is set (see the root ``conftest.py``).
Playwright's sync API keeps an event loop running in the main thread, so the fixtures
set ``DJANGO_ALLOW_ASYNC_UNSAFE`` for the rest of the session once a browser starts;
the ORM calls a test makes between page actions are ordinary synchronous calls.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("EVENTGUARD_CHROMIUM", "/usr/bin/chromium"))

# Without the background-networking flags Chromium keeps calling hosts that do not
# answer on an isolated network, and slows every test down.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

PHONE_VIEWPORT = {
    "viewport": {"width": 390, "height": 844},
    "screen": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def require_or_skip(ok: bool, reason: str) -> None:
    """Skip a test whose tool is missing, or fail it on CI, where nothing may be skipped
    for want of a tool the CI script installs."""
    if ok:
        return
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI is set: browser and broker tests must run)", pytrace=False)
    pytest.skip(reason)


def chromium_available() -> bool:
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, live_server):
    """Debian's Chromium, quiet on the network; the ORM usable beside Playwright's loop.

    Asking for the live server here starts it before the browser, so that it stops after
    the browser has closed its connections (not under them) when the session ends."""
    require_or_skip(chromium_available(), f"Chromium is not installed at {CHROMIUM}")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [*CHROMIUM_ARGS, *browser_type_launch_args.get("args", [])],
    }
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def _django_connections(django_db_setup) -> dict:
    """The main thread's database connections, taken before Playwright starts."""
    from django.db import connections

    return {alias: connections[alias] for alias in connections}


@pytest.fixture(scope="session")
def playwright(_django_connections, playwright):
    """Playwright's sync API leaves an asyncio loop running in the main thread, and Django
    keeps database connections per async context while a loop runs: the test would get
    new connection objects, without the test database's serialized contents (so rows the
    migrations seed would not come back after a transactional test) and, on in-memory
    SQLite, apart from the live server's. Hand the main thread's connections over."""
    from django.db import connections

    for alias, connection in _django_connections.items():
        connections[alias] = connection
    yield playwright


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    """Pages open the live server: ``page.goto("/login/")``."""
    return {**browser_context_args, "base_url": live_server.url}


@pytest.fixture
def phone_viewport() -> dict:
    """Context options of a 390x844 phone: ``new_context(**phone_viewport)``."""
    return dict(PHONE_VIEWPORT)


@pytest.fixture
def phone_page(new_context, phone_viewport):
    """A page on a 390x844 touch screen."""
    return new_context(**phone_viewport).new_page()


def log_in(page, username: str, password: str | None = None) -> None:
    """Log in through the real login page; the test fails with the page's message if the
    login is refused. The page ends on wherever the login sends the person."""
    from eventguard.core.testing import TEST_PASSWORD

    page.goto("/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(password or TEST_PASSWORD)
    with page.expect_navigation():
        page.locator('input[name="password"]').press("Enter")
    if urlsplit(page.url).path.rstrip("/").endswith("/login"):
        errors = page.locator(".errorlist").all_inner_texts()
        pytest.fail(f"login as {username!r} was refused: {errors or page.title()}", pytrace=False)


def _file_safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


@pytest.fixture
def screenshot(request, tmp_path):
    """``screenshot(page, name)``: a numbered full-page PNG; returns its path."""
    base = os.environ.get("EVENTGUARD_SCREENSHOTS")
    test_name = _file_safe(request.node.name)[:120]
    folder = Path(base) / test_name if base else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    taken = []

    def take(page, name: str) -> Path:
        taken.append(name)
        path = folder / f"{len(taken):02d}-{_file_safe(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
