"""Admission control (core/admission.py), driven directly: requests are asyncio tasks through
the wrapper into a fake application that runs each one until the test lets it finish. The
event loop's clock moves only when a test moves it, so a hold passes exactly when a test says
so, whatever the machine's speed."""

import asyncio
from collections import defaultdict

import pytest

from eventguard.core.admission import AdmissionControl


class ManualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock stands still until ``advance``: its timers fire on cue."""

    def __init__(self):
        self.now = 0.0
        super().__init__()

    def time(self) -> float:
        return self.now


class Application:
    """A fake inner application: notes which requests are working, and in what order they
    came in; each one works until ``finish`` (or ``fail``) is called with its path."""

    def __init__(self):
        self.started: list[str] = []
        self.finished: list[str] = []
        self.most_at_once = 0
        self._done: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._errors: dict[str, Exception] = {}

    @property
    def working(self) -> list[str]:
        return [path for path in self.started if path not in self.finished]

    async def __call__(self, scope, receive, send):
        path = scope["path"]
        self.started.append(path)
        self.most_at_once = max(self.most_at_once, len(self.working))
        try:
            await self._done[path].wait()
            if path in self._errors:
                raise self._errors[path]
        finally:
            self.finished.append(path)

    def finish(self, path: str) -> None:
        self._done[path].set()

    def fail(self, path: str, error: Exception) -> None:
        self._errors[path] = error
        self._done[path].set()


async def _receive():
    return {"type": "http.disconnect"}


async def _send(message):
    pass


def arrive(server: AdmissionControl, path: str, kind: str = "http") -> asyncio.Task:
    """A request for ``path`` comes in."""
    return asyncio.get_running_loop().create_task(
        server({"type": kind, "path": path}, _receive, _send)
    )


async def settle():
    """Let every task that can go on do so (the clock does not move)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def advance(seconds: float):
    asyncio.get_running_loop().now += seconds
    await settle()


def run(scenario):
    with asyncio.Runner(loop_factory=ManualClockLoop) as runner:
        runner.run(scenario())


def test_at_most_limit_requests_work_at_once_while_the_others_wait():
    app = Application()
    server = AdmissionControl(app, limit=2, hold=60)
    paths = [f"/r{i}" for i in range(6)]

    async def scenario():
        tasks = [arrive(server, path) for path in paths]
        await settle()
        assert app.working == ["/r0", "/r1"]
        for path in paths:
            app.finish(path)
            await settle()
            assert len(app.working) <= 2
        await asyncio.gather(*tasks)

    run(scenario)
    assert app.finished == paths
    assert app.most_at_once == 2


def test_waiting_requests_are_let_in_in_the_order_they_arrived():
    app = Application()
    server = AdmissionControl(app, limit=2, hold=60)

    async def scenario():
        tasks = [arrive(server, f"/r{i}") for i in range(5)]
        await settle()
        app.finish("/r1")  # the later of the two working ends first
        await settle()
        assert app.working == ["/r0", "/r2"]
        tasks.append(arrive(server, "/r5"))  # a newcomer queues behind /r3 and /r4
        await settle()
        app.finish("/r0")
        await settle()
        assert app.working == ["/r2", "/r3"]
        app.finish("/r3")
        await settle()
        assert app.working == ["/r2", "/r4"]
        for path in ("/r2", "/r4", "/r5"):
            app.finish(path)
        await asyncio.gather(*tasks)

    run(scenario)
    assert app.started == ["/r0", "/r1", "/r2", "/r3", "/r4", "/r5"]
    assert app.most_at_once == 2


def test_a_request_past_its_hold_lets_the_next_one_in_while_it_goes_on():
    app = Application()
    server = AdmissionControl(app, limit=1, hold=0.5)

    async def scenario():
        tasks = [arrive(server, path) for path in ("/export", "/page", "/list")]
        await settle()
        await advance(0.4)
        assert app.working == ["/export"]
        await advance(0.2)  # the export has held its place for 0.6 s: the page goes in
        assert app.working == ["/export", "/page"]
        app.finish("/export")  # the export's place was given back already, not twice
        await settle()
        assert app.working == ["/page"]
        app.finish("/page")
        await settle()
        assert app.working == ["/list"]
        app.finish("/list")
        await asyncio.gather(*tasks)

    run(scenario)


def test_a_request_that_fails_gives_its_place_to_the_next():
    app = Application()
    server = AdmissionControl(app, limit=1, hold=60)

    async def scenario():
        failing, waiting = arrive(server, "/r0"), arrive(server, "/r1")
        await settle()
        app.fail("/r0", RuntimeError("the view failed"))
        await settle()
        assert app.working == ["/r1"]
        with pytest.raises(RuntimeError, match="the view failed"):
            await failing
        app.finish("/r1")
        await waiting

    run(scenario)


def test_a_cancelled_request_gives_its_place_to_the_next_and_a_cancelled_waiter_takes_none():
    app = Application()
    server = AdmissionControl(app, limit=1, hold=60)

    async def scenario():
        working = arrive(server, "/r0")
        given_up = arrive(server, "/r1")
        waiting = arrive(server, "/r2")
        await settle()
        given_up.cancel()  # a client gone while waiting
        working.cancel()  # and one gone while its request works
        await settle()
        assert app.working == ["/r2"]
        later = arrive(server, "/r3")
        await settle()
        assert app.working == ["/r2"]
        app.finish("/r2")
        await settle()
        assert app.working == ["/r3"]
        app.finish("/r3")
        await asyncio.gather(waiting, later)
        assert working.cancelled() and given_up.cancelled()

    run(scenario)
    assert app.started == ["/r0", "/r2", "/r3"]
    assert app.most_at_once == 1


def test_a_request_cancelled_after_its_hold_gives_no_second_place_back():
    app = Application()
    server = AdmissionControl(app, limit=1, hold=0.5)

    async def scenario():
        stream = arrive(server, "/stream")
        await settle()
        await advance(1)
        tasks = [arrive(server, "/r1"), arrive(server, "/r2")]
        await settle()
        assert app.working == ["/stream", "/r1"]
        stream.cancel()  # the browser closes the stream
        await settle()
        assert app.working == ["/r1"]
        app.finish("/r1")
        await settle()
        assert app.working == ["/r2"]
        app.finish("/r2")
        await asyncio.gather(*tasks)

    run(scenario)


def test_limit_zero_lets_every_request_in_at_once():
    app = Application()
    server = AdmissionControl(app, limit=0, hold=0.5)
    paths = [f"/r{i}" for i in range(5)]

    async def scenario():
        tasks = [arrive(server, path) for path in paths]
        await settle()
        assert app.working == paths
        for path in paths:
            app.finish(path)
        await asyncio.gather(*tasks)

    run(scenario)


def test_websocket_and_lifespan_pass_straight_through():
    app = Application()
    server = AdmissionControl(app, limit=1, hold=60)

    async def scenario():
        tasks = [
            arrive(server, "/page"),
            arrive(server, "/waiting"),
            arrive(server, "/socket", kind="websocket"),
            arrive(server, "", kind="lifespan"),
        ]
        await settle()
        assert app.working == ["/page", "/socket", ""]
        for path in ("/page", "/waiting", "/socket", ""):
            app.finish(path)
        await asyncio.gather(*tasks)

    run(scenario)
