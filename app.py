"""Local AI Workspace — the composition root: Settings → logging → services → UI → launch.

Run `python app.py`. Importing this module does nothing; everything happens in `main()`.
"""

from __future__ import annotations

import sys


def main() -> int:
    from workspace.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2

    # Before gradio (or anything that imports it) is imported: no telemetry, our own temp folder.
    from workspace.privacy import apply_privacy_env

    apply_privacy_env(settings.data_dir)

    from workspace.logs import configure_logging

    configure_logging(settings.logging, settings.data_dir)

    from loguru import logger

    from workspace.backend import BackendStartError
    from workspace.services import build_services

    try:
        services = build_services(settings)
    except BackendStartError as exc:
        logger.error(str(exc))
        return 1

    import uvicorn

    from workspace.auth import Gate, load_or_create, needs_login
    from workspace.ui.web import create_web_app

    gate = None
    if needs_login(settings.server.host):
        credentials, new_password = load_or_create(settings.data_dir)
        gate = Gate(credentials)
        if new_password:  # shown this once; only its hash is kept
            print(f"\n  LAN login — user: {credentials.username}  password: {new_password}\n"
                  "  (shown once; delete data/auth.json to make a new one)\n", file=sys.stderr, flush=True)
    web_app = create_web_app(services, gate)
    logger.info("Serving on http://{}:{}", settings.server.host, settings.server.port)
    try:
        uvicorn.run(web_app, host=settings.server.host, port=settings.server.port, log_level="warning")
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
