"""`DashboardService`: the run history as pages, one run, the aggregates, and the backend's status.

The REST API and the dashboard page both call it. Each query first brings the index up to date with the
history files when that is quick (the lines written since the last query, up to `inline_bytes`), then
answers from the index; a page's records are read from their lines by offset, so a page costs its own
lines only. A bigger backlog (a lost index over a long history) is read by a thread of this service in
steps, each its own transaction: meanwhile every query answers at once from what is indexed so far, and
says so (`index.complete` false, with how much is left). The thread ends when it has caught up.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

from loguru import logger

from workspace.dashboard import queries
from workspace.dashboard.index import INDEX_FILE, DashboardIndex, backlog
from workspace.dashboard.queries import Filters, UnknownRun
from workspace.dashboard.reader import history_files, read_at

INLINE_BYTES = 256_000  # what a query indexes itself before answering: ~250 records (~100 ms on a loaded 2-core box)
STEP_BYTES = 4_000_000  # what the catch-up thread indexes per transaction (queries see each step)


class DashboardService:
    def __init__(self, logs_dir: Path, backend: Any = None, gateway: Any = None, router: Any = None, *,
                 inline_bytes: int = INLINE_BYTES):
        self.logs_dir = Path(logs_dir)
        self.backend, self.gateway, self.router = backend, gateway, router
        self.inline_bytes = inline_bytes
        self._writer: DashboardIndex | None = None
        self._reader: sqlite3.Connection | None = None  # its own snapshot while the catch-up thread writes
        self._lock = threading.Lock()  # one query at a time on the read connection (and its inline step)
        self._state = threading.Condition()  # the catch-up thread's life
        self._thread: threading.Thread | None = None
        self._closing = False

    @contextmanager
    def _snapshot(self) -> Iterator[tuple[sqlite3.Connection, dict[str, Any]]]:
        """The index as one consistent snapshot, caught up first when that is quick, and how complete it is.
        A longer catch-up is left to the thread, started once the answer is read."""
        with self._lock:
            if self._writer is None:
                self.logs_dir.mkdir(parents=True, exist_ok=True)
                self._writer = DashboardIndex(self.logs_dir / INDEX_FILE)  # opens (or rebuilds) the tables
                self._reader = sqlite3.connect(self._writer.path, check_same_thread=False)
            files = history_files(self.logs_dir)
            with self._state:
                catching_up = self._thread is not None
            if not catching_up and backlog(self._reader, files):
                self._writer.sync(files, self.inline_bytes)  # the writer is this thread's while no catch-up runs
            behind = backlog(self._reader, files)
            indexed = self._reader.execute("SELECT COALESCE(SUM(done), 0) FROM files").fetchone()[0]
            self._reader.execute("BEGIN")
            try:
                yield self._reader, {"complete": behind == 0, "indexed_bytes": indexed, "behind_bytes": behind}
            finally:
                self._reader.execute("COMMIT")
            if behind:
                self._start_catch_up()

    def _start_catch_up(self) -> None:
        with self._state:
            if self._thread is None and not self._closing:
                self._thread = threading.Thread(target=self._catch_up, name="dashboard-index", daemon=True)
                self._thread.start()

    def _catch_up(self) -> None:
        """The catch-up thread: index the backlog a step at a time until none is left, then end."""
        try:
            while not self._closing and not self._writer.sync(history_files(self.logs_dir), STEP_BYTES):
                pass
        except (OSError, sqlite3.Error):
            self._writer.db.rollback()  # the step's rows and totals go together or not at all
            logger.exception("The dashboard index could not catch up with the history; the next query tries again")
        finally:
            with self._state:
                self._thread = None
                self._state.notify_all()

    def wait_indexed(self) -> None:
        """Wait until a catch-up that runs has ended (tests and the benchmark; queries never wait)."""
        with self._state:
            while self._thread is not None:
                self._state.wait()

    def history(self, limit: int = 50, offset: int = 0, **filters: Any) -> dict[str, Any]:
        """{"runs": [records, newest first], "total": N, "skipped_lines": corrupt lines seen in the files,
        "index": {"complete", "indexed_bytes", "behind_bytes"}}."""
        checked = Filters.of(**filters)
        with self._snapshot() as (db, progress):
            found = queries.page(db, checked, limit, offset)
            names, skipped = _file_names(db), _skipped(db)
        runs = [self._read(names, ino, pos, run_id) for ino, pos, run_id in found.rows]
        return {"runs": [r for r in runs if r is not None], "total": found.total, "skipped_lines": skipped,
                "index": progress}

    def run(self, run_id: str) -> dict[str, Any]:
        """One run's whole record: task, stages with their outputs, verdict, escalations, timings."""
        with self._snapshot() as (db, _):
            ino, pos = queries.locate(db, run_id)
            names = _file_names(db)
        record = self._read(names, ino, pos, run_id)
        if record is None:
            raise UnknownRun(f"Run {run_id!r} is no longer in the history files.")
        return record

    def stats(self, **filters: Any) -> dict[str, Any]:
        """The aggregates behind the plots and the headline tiles, and how complete the index is."""
        checked = Filters.of(**filters)
        with self._snapshot() as (db, progress):
            return {**asdict(queries.stats(db, checked)), "index": progress}

    def options(self) -> dict[str, list[str]]:
        """The values the page's filters offer: profiles, models and kinds seen in the history."""
        with self._snapshot() as (db, _):
            models = [m for (m,) in db.execute("SELECT DISTINCT model FROM run_models WHERE model != '' ORDER BY 1")]
            profiles = [p for (p,) in db.execute("SELECT DISTINCT profile_id FROM runs WHERE profile_id IS NOT NULL")]
        return {"models": models, "profiles": profiles, "kinds": list(queries.KINDS),
                "outcomes": list(queries.OUTCOMES)}

    def _read(self, names: dict[int, str], ino: int, pos: int, run_id: str) -> dict[str, Any] | None:
        name = names.get(ino)
        try:
            record = read_at(self.logs_dir / name, pos) if name else None
        except OSError:
            record = None  # rotated or deleted since the index looked: the next query re-syncs
        return record if record is not None and record.get("run_id") == run_id else None

    def backend_status(self) -> dict[str, Any]:
        """Which backend serves, its version and loaded models, and each role's model, host and health."""
        if self.backend is None or self.gateway is None:
            return {}
        servers: dict[str, dict[str, Any]] = {}
        roles = []
        for chosen in self.router.all_roles() if self.router is not None else []:
            if chosen.host not in servers:
                servers[chosen.host] = self.gateway.server_status(chosen.host)
            roles.append({"role": str(chosen.role.value if hasattr(chosen.role, "value") else chosen.role),
                          "model": chosen.model, "host": chosen.host, "up": servers[chosen.host]["up"]})
        main = servers.get(self.backend.host) or self.gateway.server_status(self.backend.host)
        return {"kind": self.backend.kind, "label": self.backend.label, "host": self.backend.host,
                "up": main["up"], "version": main["version"], "installed": self.backend.models(),
                "loaded": main["loaded"], "roles": roles}

    def close(self) -> None:
        """Stop the catch-up thread (it ends after its current step) and close the index."""
        with self._state:
            self._closing = True
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._lock:
            for connection in (self._reader, self._writer):
                if connection is not None:
                    connection.close()
            self._reader = self._writer = None


def _file_names(db: sqlite3.Connection) -> dict[int, str]:
    return dict(db.execute("SELECT ino, name FROM files"))


def _skipped(db: sqlite3.Connection) -> int:
    return db.execute("SELECT COALESCE(SUM(skipped), 0) FROM files").fetchone()[0]
