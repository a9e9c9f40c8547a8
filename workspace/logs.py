"""Logging set-up: readable lines on stderr and a rotating JSON log under `<data>/logs/`."""

from __future__ import annotations

import sys
from pathlib import Path

from loguru import logger

from workspace.settings import LoggingSettings


def configure_logging(settings: LoggingSettings, data_dir: Path) -> None:
    logs_dir = Path(data_dir) / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    logger.remove()
    logger.add(sys.stderr, level=settings.level, format="{time:HH:mm:ss} {level: <7} {message}")
    logger.add(
        logs_dir / "app.log",
        level=settings.level,
        serialize=True,
        rotation=settings.rotation,
        retention=settings.retention,
        enqueue=True,  # writes from worker threads never block a turn on disk I/O
    )
