"""Browser tests (real Chromium through Playwright, against pytest-django's live server).

The fixtures live in :mod:`tests.browser.fixtures`, which the root ``conftest.py``
registers as a plugin so that every app's browser tests get them too; read that
module's docstring for how an app writes a browser test
(``src/eventguard/<app>/tests/test_browser_<topic>.py``). ``log_in`` is importable
from here as well as from there.
"""

from tests.browser.fixtures import log_in

__all__ = ["log_in"]
