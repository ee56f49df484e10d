"""SQLite: the threads of one process that write to the same file take turns, first come
first served, so that a thread that commits batch after batch (the ingest worker's loop)
does not keep the others (escalation, webhooks, the web server's requests) waiting.

Each test opens its own SQLite file through the project's backend, whatever database the
suite runs on."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from eventguard.core.backends.sqlite.base import WriteTurns, turns_for


@pytest.fixture
def database(tmp_path):
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "eventguard.core.backends.sqlite",
                "NAME": str(tmp_path / "turns.sqlite3"),
                "OPTIONS": {
                    "timeout": 30,
                    "transaction_mode": "IMMEDIATE",
                    "init_command": "PRAGMA journal_mode=WAL",
                },
            }
        }
    )
    connection = handler["default"]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE writes (id INTEGER PRIMARY KEY, who TEXT, n INTEGER)")
    yield handler
    handler.close_all()


def write(connection, who: str, n: int, *, hold=None, fail=False) -> None:
    """One transaction, as ``transaction.atomic`` runs it on this backend."""
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO writes (who, n) VALUES (%s, %s)", [who, n])
            if hold is not None:
                hold()
            if fail:
                cursor.execute("INSERT INTO no_such_table VALUES (1)")
        connection.commit()
    except Exception:
        connection.rollback()
        raise
    finally:
        connection.set_autocommit(True)


def order(handler) -> list[tuple[str, int]]:
    with handler["default"].cursor() as cursor:
        cursor.execute("SELECT who, n FROM writes ORDER BY id")
        return [tuple(row) for row in cursor.fetchall()]


def test_a_thread_that_writes_without_pause_lets_another_in_after_its_transaction(database):
    """The busy thread holds each transaction for a moment and begins the next at once;
    the other thread's one write goes in right after the busy transaction it found."""
    busy_started = threading.Event()
    stop = threading.Event()
    waiting_at: list[int] = []

    def busy():
        connection = database["default"]
        n = 0
        while not stop.is_set() and n < 2000:
            write(connection, "busy", n, hold=lambda: stop.wait(0.002))
            n += 1
            if n == 5:
                busy_started.set()
        connection.close()

    def other():
        connection = database["default"]
        busy_started.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(n) FROM writes WHERE who = 'busy'")
            waiting_at.append(cursor.fetchone()[0])
        write(connection, "other", 0)
        stop.set()
        connection.close()

    threads = [threading.Thread(target=busy), threading.Thread(target=other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    rows = order(database)
    busy_before = rows.index(("other", 0))
    # The busy transaction under way when the other thread asked, and at most the one
    # that had begun meanwhile; without turns the busy thread won for many more.
    assert busy_before <= waiting_at[0] + 3, (busy_before, waiting_at[0], len(rows))


def test_a_failed_transaction_gives_its_turn_up(database):
    connection = database["default"]
    with pytest.raises(OperationalError):
        write(connection, "failing", 1, fail=True)
    done = threading.Event()

    def other():
        write(database["default"], "other", 1)
        database["default"].close()
        done.set()

    threading.Thread(target=other).start()
    assert done.wait(10), "the turn was left held after the rollback"
    assert order(database) == [("other", 1)]  # the failed write was rolled back


def test_a_closed_connection_gives_its_turn_up(database, tmp_path):
    connection = database["default"]
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    turns = turns_for(str(tmp_path / "turns.sqlite3"))
    assert not turns.acquire(timeout=0.05), "the open transaction holds the turn"
    connection.close()
    assert turns.acquire(timeout=1)
    turns.release()


def test_turns_go_to_the_threads_in_the_order_they_asked():
    turns = WriteTurns()
    assert turns.acquire(timeout=1)
    got: list[int] = []
    threads = []
    for i in range(4):
        thread = threading.Thread(target=lambda i=i: (turns.acquire(10), got.append(i)))
        thread.start()
        while turns.queued < i + 1:  # each has queued before the next asks
            threading.Event().wait(0.001)
        threads.append(thread)
    for _ in range(4):
        turns.release()
        while len(got) < _ + 1:
            threading.Event().wait(0.001)
    turns.release()
    for thread in threads:
        thread.join(5)
    assert got == [0, 1, 2, 3]


def test_a_thread_that_waits_too_long_goes_on_without_its_turn():
    turns = WriteTurns()
    assert turns.acquire(timeout=1)
    assert turns.acquire(timeout=0.05) is False
    assert turns.queued == 0, "a thread that gave up is no longer in the queue"
    turns.release()
    assert turns.acquire(timeout=0.05), "released with nobody waiting: free again"
