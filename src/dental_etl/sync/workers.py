"""Per-thread connections for a worker pool: one warehouse session and one source probe per
thread, opened on first use and reused for every table that thread handles (a PostgreSQL session
costs ~100 ms to open: per table, that would dominate syncing hundreds of small tables)."""

from __future__ import annotations

import threading

from dental_etl.settings import MySQLSource
from dental_etl.sync.extracted import SourceProbe
from dental_etl.sync.written import Session, Writer


class WorkerConnections:
    """Per-thread warehouse session and source probe, opened lazily, closed at the end."""

    def __init__(self, writer: Writer, source: MySQLSource) -> None:
        self._writer = writer
        self._source = source
        self._local = threading.local()
        self._opened: list[tuple[Session, SourceProbe]] = []
        self._lock = threading.Lock()

    def get(self) -> tuple[Session, SourceProbe]:
        pair = getattr(self._local, "pair", None)
        if pair is None:
            pair = (self._writer.session(), SourceProbe(self._source))
            self._local.pair = pair
            with self._lock:
                self._opened.append(pair)
        return pair

    def discard(self) -> None:
        """Forget this thread's connections after an error (they may be broken)."""
        pair = getattr(self._local, "pair", None)
        if pair is not None:
            self._local.pair = None
            _close(pair)
            with self._lock:
                self._opened.remove(pair)

    def close(self) -> None:
        for pair in self._opened:
            _close(pair)
        self._opened.clear()


def _close(pair: tuple[Session, SourceProbe]) -> None:
    session, probe = pair
    session.close()
    probe.close()
