"""The derived dashboard index, `<data>/logs/dashboard.sqlite`: one row per run and per stage, with where its line is.

The history files stay the source of truth. This file only makes filters, totals and aggregates cheap:
`sync` reads the lines appended since the last one, as many bytes as it is allowed (a file is known by
its inode and its first bytes, so a rotation renames it without re-reading, and a file the retention
deleted takes its rows with it); `backlog` says how much is left. Missing, damaged or of an older
layout, it is deleted and rebuilt from the files.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from workspace.dashboard import rollup
from workspace.dashboard.reader import complete_lines, parse_line

INDEX_FILE = "dashboard.sqlite"
LAYOUT = "3"  # bump when the tables change: old files are rebuilt, never migrated
BATCH = 5_000
HEAD_BYTES = 256
_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files(ino INTEGER PRIMARY KEY, name TEXT NOT NULL, head TEXT NOT NULL, done INTEGER NOT NULL,
                   seen INTEGER NOT NULL, skipped INTEGER NOT NULL DEFAULT 0);
CREATE TABLE runs(id INTEGER PRIMARY KEY, ino INTEGER NOT NULL, pos INTEGER NOT NULL, run_id TEXT NOT NULL,
                  kind TEXT NOT NULL, profile_id TEXT, chat_id TEXT, started_at REAL, ended_at REAL NOT NULL,
                  outcome TEXT NOT NULL, confidence REAL, escalations INTEGER NOT NULL,
                  escalation_kept INTEGER NOT NULL,
                  checks_passed INTEGER NOT NULL, checks_total INTEGER NOT NULL, tokens_in INTEGER NOT NULL,
                  tokens_out INTEGER NOT NULL, seconds REAL NOT NULL, models TEXT NOT NULL, sbin INTEGER NOT NULL);
CREATE INDEX runs_ended ON runs(ended_at);
CREATE INDEX runs_run_id ON runs(run_id);
CREATE INDEX runs_ino ON runs(ino);
CREATE TABLE stages(run INTEGER NOT NULL, stage TEXT NOT NULL, model TEXT NOT NULL, status TEXT NOT NULL,
                    tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, seconds REAL NOT NULL, ttft REAL,
                    sbin INTEGER NOT NULL);
CREATE INDEX stages_run ON stages(run);
CREATE TABLE run_models(model TEXT NOT NULL, run INTEGER NOT NULL, PRIMARY KEY (model, run)) WITHOUT ROWID;
CREATE INDEX run_models_run ON run_models(run);
"""


def _num(value: Any, default: float = 0) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def run_row(record: dict[str, Any]) -> tuple[list[Any], list[tuple[Any, ...]]] | None:
    """The index row of a record and its stage rows; None when it is not a run record."""
    if not isinstance(record.get("run_id"), str) or not isinstance(record.get("ended_at"), (int, float)):
        return None
    stages = [s for s in record.get("stages") or [] if isinstance(s, dict)]
    checks = [c for c in record.get("checks") or [] if isinstance(c, dict)]
    escalations = [e for e in record.get("escalations") or [] if isinstance(e, dict)]
    started = _num(record.get("started_at"), record["ended_at"])
    stage_rows = [(str(s.get("stage") or ""), str(s.get("model_used") or ""), str(s.get("status") or ""),
                   int(_num(s.get("tokens_in"))), int(_num(s.get("tokens_out"))), float(_num(s.get("seconds"))),
                   s.get("ttft_s") if isinstance(s.get("ttft_s"), (int, float)) else None) for s in stages]
    stage_rows = [(*row, rollup.seconds_bin(row[5])) for row in stage_rows]
    models = ",".join(dict.fromkeys(row[1] for row in stage_rows if row[1]))
    confidence = record.get("confidence")
    row = [record["run_id"], str(record.get("kind") or ""), record.get("profile_id"), record.get("chat_id"), started,
           float(record["ended_at"]), str(record.get("outcome") or "error"),
           confidence if isinstance(confidence, (int, float)) else None, len(escalations),
           int(any(e.get("kept") for e in escalations)), int(sum(_num(c.get("passed")) for c in checks)),
           int(sum(_num(c.get("total")) for c in checks)), sum(r[3] for r in stage_rows),
           sum(r[4] for r in stage_rows), round(float(record["ended_at"]) - started, 3), models]
    return [*row, rollup.seconds_bin(row[-2])], stage_rows


class DashboardIndex:
    """One SQLite connection; the caller (`DashboardService`) serialises its use across threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        if self.path.exists():
            try:
                db = sqlite3.connect(self.path, check_same_thread=False)
                row = db.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone()
                if row is not None and row[0] == LAYOUT:
                    return db
                db.close()
            except sqlite3.DatabaseError:
                pass  # not a database, damaged, or a table missing: all mean "rebuild"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False)
        db.executescript(f"PRAGMA journal_mode=WAL; BEGIN; {_SCHEMA} "
                         f"{rollup.SCHEMA} INSERT INTO meta VALUES ('layout', '{LAYOUT}'); COMMIT;")
        return db

    def close(self) -> None:
        self.db.close()

    # -- keeping up with the files --------------------------------------------------------------
    def sync(self, files: list[Path], budget: int | None = None) -> bool:
        """Index the lines written since the last call, newest file first, stopping once about `budget` bytes
        were read; forget files that are gone. True when no line is left to index."""
        known = {ino: (name, head, done, seen) for ino, name, head, done, seen in self.db.execute(
            "SELECT ino, name, head, done, seen FROM files")}
        present, left = set(), budget
        for path in files:
            try:
                ino, size, head = path.stat().st_ino, path.stat().st_size, _head(path)
            except OSError:
                continue  # rotated away between the listing and now: the next sync sees it
            present.add(ino)
            name, old_head, done, seen = known.get(ino, (None, None, 0, -1))
            if old_head is not None and (not head.startswith(old_head) or done > size):
                self._forget(ino)  # the inode now holds another file
                old_head, done, seen = None, 0, -1
            if old_head is None or name != path.name or old_head != head:
                self.db.execute("INSERT OR REPLACE INTO files(ino, name, head, done, seen, skipped) VALUES "
                                "(?, ?, ?, ?, ?, COALESCE((SELECT skipped FROM files WHERE ino = ?), 0))",
                                (ino, path.name, head, done, seen, ino))
            if size != seen and (left is None or left > 0):
                read = self._read(path, ino, done, size, left)
                left = None if left is None else left - read
        for ino in set(known) - present:
            self._forget(ino)
        self.db.commit()
        return backlog(self.db, files) == 0

    def _forget(self, ino: int) -> None:
        rollup.apply(self.db, "r.ino = ?", [ino], -1)
        self.db.execute("DELETE FROM stages WHERE run IN (SELECT id FROM runs WHERE ino = ?)", (ino,))
        self.db.execute("DELETE FROM run_models WHERE run IN (SELECT id FROM runs WHERE ino = ?)", (ino,))
        self.db.execute("DELETE FROM runs WHERE ino = ?", (ino,))
        self.db.execute("DELETE FROM files WHERE ino = ?", (ino,))

    def _read(self, path: Path, ino: int, start: int, size: int, budget: int | None) -> int:
        """Index complete lines from `start` on, about `budget` bytes of them; the bytes read."""
        done, skipped, batch, at_end = start, 0, [], True
        for offset, raw in complete_lines(path, start):
            if budget is not None and done - start >= budget:
                at_end = False
                break
            done = offset + len(raw)
            rows = run_row(parse_line(raw) or {})
            if rows is None:
                skipped += 1
                continue
            batch.append((offset, rows))
            if len(batch) >= BATCH:
                self._insert(ino, batch)
                batch = []
        self._insert(ino, batch)
        seen = max(size, done) if at_end else -1  # the size whose every complete line is indexed
        self.db.execute("UPDATE files SET done = ?, seen = ?, skipped = skipped + ? WHERE ino = ?",
                        (done, seen, skipped, ino))
        return done - start

    def _insert(self, ino: int, batch: list[tuple[int, tuple[list[Any], list[tuple]]]]) -> None:
        if not batch:
            return
        last = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM runs").fetchone()[0]
        self.db.executemany(f"INSERT INTO runs(id, ino, pos, {RUN_COLUMNS}) VALUES (?, ?, ?, {_marks(17)})",
                            [(last + k, ino, offset, *row) for k, (offset, (row, _)) in enumerate(batch, 1)])
        self.db.executemany(f"INSERT INTO stages VALUES (?, {_marks(8)})",
                            [(last + k, *s) for k, (_, (_, stages)) in enumerate(batch, 1) for s in stages])
        self.db.executemany("INSERT INTO run_models VALUES (?, ?)",
                            [(m, last + k) for k, (_, (row, _)) in enumerate(batch, 1)
                             for m in ["", *filter(None, row[-2].split(","))]])
        rollup.apply(self.db, "r.id > ?", [last], 1)


RUN_COLUMNS = ("run_id, kind, profile_id, chat_id, started_at, ended_at, outcome, confidence, escalations, "
               "escalation_kept, checks_passed, checks_total, tokens_in, tokens_out, seconds, models, sbin")


def backlog(db: sqlite3.Connection, files: list[Path]) -> int:
    """About how many bytes of the history files are not indexed yet (a file gone, renamed or new counts at
    least 1: its rows still have to change). Cheap: a stat per file and one query."""
    known = {ino: (name, done, seen) for ino, name, done, seen in db.execute("SELECT ino, name, done, seen FROM files")}
    behind, present = 0, set()
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        present.add(stat.st_ino)
        name, done, seen = known.get(stat.st_ino, (None, 0, -1))
        if stat.st_size != seen or name != path.name:
            behind += max(stat.st_size - done, 1)
    return behind + len(set(known) - present)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _head(path: Path) -> str:
    """The file's first bytes (hex): a renamed or grown file keeps them, a new file at the same inode does not."""
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES).hex()
