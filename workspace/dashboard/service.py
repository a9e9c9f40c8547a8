"""`DashboardService`: the run history as pages, one run, the aggregates, and the backend's status.

The REST API and the dashboard page both call it. Each query first brings the index up to date with
the history files (only the lines written since the last query are read), then answers from the index;
a page's records are read from their lines by offset, so a page costs its own lines only.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workspace.dashboard import queries
from workspace.dashboard.index import INDEX_FILE, DashboardIndex
from workspace.dashboard.queries import Filters, UnknownRun
from workspace.dashboard.reader import history_files, read_at


class DashboardService:
    def __init__(self, logs_dir: Path, backend: Any = None, gateway: Any = None, router: Any = None):
        self.logs_dir = Path(logs_dir)
        self.backend, self.gateway, self.router = backend, gateway, router
        self._index: DashboardIndex | None = None
        self._lock = threading.Lock()  # one SQLite connection, one query at a time

    def _synced(self) -> DashboardIndex:
        """The index, opened (or rebuilt) on first use and caught up with the files."""
        if self._index is None:
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            self._index = DashboardIndex(self.logs_dir / INDEX_FILE)
        self._index.sync(history_files(self.logs_dir))
        return self._index

    def history(self, limit: int = 50, offset: int = 0, **filters: Any) -> dict[str, Any]:
        """{"runs": [records, newest first], "total": N, "skipped_lines": corrupt lines seen in the files}."""
        checked = Filters.of(**filters)
        with self._lock:
            index = self._synced()
            found = queries.page(index.db, checked, limit, offset)
            names, skipped = index.file_names(), index.skipped()
        runs = [self._read(names, ino, pos, run_id) for ino, pos, run_id in found.rows]
        return {"runs": [r for r in runs if r is not None], "total": found.total, "skipped_lines": skipped}

    def run(self, run_id: str) -> dict[str, Any]:
        """One run's whole record: task, stages with their outputs, verdict, escalations, timings."""
        with self._lock:
            index = self._synced()
            ino, pos = queries.locate(index.db, run_id)
            names = index.file_names()
        record = self._read(names, ino, pos, run_id)
        if record is None:
            raise UnknownRun(f"Run {run_id!r} is no longer in the history files.")
        return record

    def stats(self, **filters: Any) -> dict[str, Any]:
        """The aggregates behind the plots and the headline tiles."""
        checked = Filters.of(**filters)
        with self._lock:
            return asdict(queries.stats(self._synced().db, checked))

    def options(self) -> dict[str, list[str]]:
        """The values the page's filters offer: profiles, models and kinds seen in the history."""
        with self._lock:
            db = self._synced().db
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
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None
