"""REST routes of the dashboard: the run history with filters and paging, one run, the aggregates, the backend.

Thin calls into `DashboardService`; a bad filter is a `DashboardError` (400) and an unknown run an
`UnknownRun` (404), both translated in `api.install_error_handlers`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from workspace.dashboard.queries import MAX_LIMIT
from workspace.services import Services


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api/dashboard")
    dashboard = services.dashboard

    @api.get("/history")
    def history(limit: int = Query(default=50, ge=1, le=MAX_LIMIT), offset: int = Query(default=0, ge=0),
                profile_id: str | None = None, kind: str | None = None, model: str | None = None,
                outcome: str | None = None, since: str | None = None, until: str | None = None,
                stage: str | None = None, confidence_min: str | None = None,
                confidence_max: str | None = None) -> dict[str, Any]:
        """Runs newest first: `{"runs": [history records], "total": N, "skipped_lines": corrupt lines, "index":
        {"complete", …}}`. `since`/`until` are Unix seconds or ISO 8601; `model` matches any model a run used,
        `stage` any stage it had; `confidence_min`/`confidence_max` bound its confidence (0–100)."""
        return dashboard.history(limit, offset, profile_id=profile_id, kind=kind, model=model, outcome=outcome,
                                 since=since, until=until, stage=stage, confidence_min=confidence_min,
                                 confidence_max=confidence_max)

    @api.get("/runs/{run_id}")
    def run(run_id: str) -> dict[str, Any]:
        """One run's whole record: task, stages and their outputs, checks, escalations, timings."""
        return dashboard.run(run_id)

    @api.get("/stats")
    def stats(profile_id: str | None = None, kind: str | None = None, model: str | None = None,
              outcome: str | None = None, since: str | None = None, until: str | None = None,
              stage: str | None = None, confidence_min: str | None = None,
              confidence_max: str | None = None) -> dict[str, Any]:
        """The aggregates behind the dashboard's tiles and plots, under the same filters as the history."""
        return dashboard.stats(profile_id=profile_id, kind=kind, model=model, outcome=outcome, since=since,
                               until=until, stage=stage, confidence_min=confidence_min,
                               confidence_max=confidence_max)

    @api.get("/backend")
    def backend() -> dict[str, Any]:
        """Which backend serves, its version, models installed and loaded, each role's host and health."""
        return dashboard.backend_status()

    return api
