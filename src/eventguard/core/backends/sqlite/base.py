"""Django's SQLite backend, with the write turns of one process taken in order.

SQLite lets one connection write at a time. A connection that finds the database locked
polls: its busy handler sleeps (1, 2, 5 … 100 ms) and tries again. Between two of those
tries, a thread that commits and starts its next transaction at once (the ingest worker's
main loop does nothing else) takes the lock again; the other threads of the process (the
worker's effects and timers, the web server's requests) can wait for seconds, although
each of them wants the database for a few milliseconds. Measured on a loaded worker: the
escalation of a new alarm waited in the busy handler while the ingest committed batch
after batch.

Here a transaction (``BEGIN IMMEDIATE``, the settings' transaction mode, which takes the
write lock at its start) first waits for its turn in a queue of the process's threads that
write to the same file, first come first served, and gives the turn to the next one when
it commits or rolls back. Other processes (the web server beside the worker) still meet
SQLite's own lock and busy handler. A thread that does not get its turn within the
connection's timeout goes on without it, to SQLite's lock as before.
"""

from __future__ import annotations

import collections
import os
import threading

from django.db.backends.sqlite3 import base


class WriteTurns:
    """A lock that is handed, on release, to the thread that has waited longest."""

    def __init__(self):
        self._mutex = threading.Lock()
        self._waiting: collections.deque[threading.Lock] = collections.deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            baton = threading.Lock()
            baton.acquire()
            self._waiting.append(baton)
        if baton.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            try:
                self._waiting.remove(baton)
            except ValueError:
                return True  # handed over between the timeout and here
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().release()  # the lock stays held, by the next one
            else:
                self._held = False

    @property
    def queued(self) -> int:
        return len(self._waiting)


_turns: dict[str, WriteTurns] = {}
_turns_lock = threading.Lock()


def turns_for(name: str) -> WriteTurns:
    key = os.path.realpath(name)
    with _turns_lock:
        return _turns.setdefault(key, WriteTurns())


class DatabaseWrapper(base.DatabaseWrapper):
    _turn: WriteTurns | None = None

    def _start_transaction_under_autocommit(self):
        if self.transaction_mode == "IMMEDIATE" and not self.is_in_memory_db():
            turns = turns_for(str(self.settings_dict["NAME"]))
            timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
            if turns.acquire(timeout):
                self._turn = turns
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._end_turn()
            raise

    def _end_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._end_turn()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._end_turn()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._end_turn()
