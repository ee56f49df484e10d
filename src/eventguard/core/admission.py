"""Admission control for the web server's processes.

A server process serves each request in a thread of its own, and all of them share one
Python interpreter: twenty requests let in at once each wait for the other nineteen's Python
work between their database queries, and all twenty finish late. Letting a few work at a time,
the others waiting their turn in the event loop, finishes each sooner for the same number of
requests a second.

A slow request (an export, a large report, the feed's event stream) must not keep the others
waiting, so a request still running after ``hold`` seconds gives its place up and goes on
outside the limit. No list of slow paths is needed: the ones that take long let others in by
themselves.
"""

from __future__ import annotations

import asyncio


class AdmissionControl:
    """An ASGI application around another: at most ``limit`` of this process's HTTP requests
    work at once, the others wait in arrival order; a request still running after ``hold``
    seconds gives its place to the next. ``limit`` 0 lets everything in. WebSocket and lifespan
    scopes pass straight through."""

    def __init__(self, app, *, limit: int, hold: float):
        self.app = app
        self.limit = limit
        self.hold = hold
        # Made in the server's running loop by the first request (an asyncio primitive
        # belongs to one loop).
        self._places: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.limit <= 0:
            return await self.app(scope, receive, send)
        if self._places is None:
            self._places = asyncio.Semaphore(self.limit)
        places = self._places
        # The semaphore wakes its waiters first come, first served, and a newcomer does not
        # pass them while any is waiting. A request cancelled while waiting takes no place.
        await places.acquire()
        place = _Place(places)
        timer = asyncio.get_running_loop().call_later(self.hold, place.give_back)
        try:
            return await self.app(scope, receive, send)
        finally:
            # Normal end, exception, client gone or cancelled: the place goes back once,
            # unless the hold already gave it back.
            timer.cancel()
            place.give_back()


class _Place:
    """One admitted request's place, given back exactly once."""

    __slots__ = ("_places", "_held")

    def __init__(self, places: asyncio.Semaphore):
        self._places = places
        self._held = True

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._places.release()
