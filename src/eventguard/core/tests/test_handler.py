"""The server's request handler (core/handler.py), driven as the web server drives it: each
request goes through the whole middleware chain and its view, and its answer, a stream
too, leaves from the event loop."""

import asyncio
import gc
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.testing import ApplicationCommunicator

from eventguard.core.handler import OneThreadASGIHandler
from eventguard.core.testing import client_for, make_event, make_member

pytestmark = pytest.mark.django_db(transaction=True)  # the request's thread has its own


@pytest.fixture(autouse=True)
def _connections_per_request(monkeypatch):
    """As under ``eventguard serve``: a request's database connection is closed (or given
    back to the pool) when the request ends, not kept by its thread once the thread is gone."""
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    yield
    # A connection the feed's stream opened in its request's thread, after the client went
    # away, is closed with that thread's storage: collected now, not at some later test.
    gc.collect()


def scope_for(path: str, cookie: str = "") -> dict:
    headers = [(b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def ask(path: str, cookie: str = "", *, chunks: int | None = None) -> tuple[int, dict, bytes]:
    """The status, headers and body of a GET; with ``chunks``, only the first ones of the
    body, then the client goes away."""

    async def run():
        communicator = ApplicationCommunicator(OneThreadASGIHandler(), scope_for(path, cookie))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await communicator.receive_output(30)
        body, received = b"", 0
        while chunks is None or received < chunks:
            message = await communicator.receive_output(30)
            body += message.get("body", b"")
            received += 1
            if not message.get("more_body"):
                break
        if chunks is not None:
            await communicator.send_input({"type": "http.disconnect"})
            await communicator.wait(30)
        headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return start["status"], headers, body

    # An event loop of its own, in a thread of its own, as the server's: the test's thread
    # may hold one already (the browser tests').
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def session_of(user) -> str:
    return f"sessionid={client_for(user).cookies['sessionid'].value}"


def test_a_page_goes_through_the_middleware_and_its_view(event):
    status, headers, body = ask("/login/")
    assert status == 200
    assert headers["x-request-id"]  # the project's own middleware ran
    assert b'name="csrfmiddlewaretoken"' in body and "csrftoken" in headers["set-cookie"]


def test_a_person_gets_their_pages_in_their_language_and_others_are_refused(event):
    from eventguard.core.services import person_update

    commander = make_member(event, "commander")
    person_update(actor=None, user=commander, language="en")
    status, headers, body = ask(f"/e/{event.code}/command/", session_of(commander))
    assert status == 200 and headers["content-language"] == "en"
    assert b'id="dashboard"' in body
    stranger = make_member(make_event(), "commander")  # of another event
    status, _headers, _body = ask(f"/e/{event.code}/command/", session_of(stranger))
    assert status == 404
    status, headers, _body = ask(f"/e/{event.code}/command/")  # not logged in
    assert status == 302 and headers["location"].startswith("/login/")


def test_the_feed_streams_from_the_event_loop(event):
    commander = make_member(event, "commander")
    status, headers, body = ask(f"/e/{event.code}/feed/stream/", session_of(commander), chunks=1)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert body == b"retry: 1000\n\n"
