"""Local AI Workspace — the composition root: Settings → logging → services → UI → launch.

`python app.py` serves the LAN behind a login; `--local` serves this machine only, without one;
`--tls` serves HTTPS with a self-signed pair made once; `--set-password` changes the login (a running
app picks the change up). Importing this module does nothing; everything happens in `main()`.
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="app.py", description="Local AI Workspace")
    parser.add_argument("--local", action="store_true", help="serve this machine only (127.0.0.1), no login")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed certificate made once")
    parser.add_argument("--set-password", action="store_true",
                        help="change the login password (asks twice, or reads one line from stdin) and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from workspace.settings import SettingsError, load_settings

    try:
        settings = load_settings(**({"server": {"host": "127.0.0.1", "login": False}} if args.local else {}))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.set_password:
        return set_password(settings)

    # Before gradio (or anything that imports it) is imported: no telemetry, our own temp folder.
    from workspace.privacy import apply_privacy_env

    apply_privacy_env(settings.data_dir)

    from workspace.logs import configure_logging

    configure_logging(settings.logging, settings.data_dir)
    return serve(settings, args.tls)


def set_password(settings) -> int:
    from workspace.auth import set_password as store_password
    from workspace.serving import ask_new_password

    try:
        store_password(settings.data_dir, ask_new_password())
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print("Password changed; a running app ends the old sessions now.", file=sys.stderr)
    return 0


def serve(settings, tls: bool) -> int:
    from loguru import logger

    from workspace.backend import BackendStartError
    from workspace.services import build_services

    server = settings.server
    cert, key = (str(server.tls_cert), str(server.tls_key)) if server.tls_cert and server.tls_key else (None, None)
    notes = []
    if tls and cert is None:
        from workspace.serving import self_signed_pair

        cert_path, key_path, fingerprint = self_signed_pair(settings.data_dir)
        cert, key = str(cert_path), str(key_path)
        notes.append(f"  TLS certificate {cert_path}\n  SHA-256 fingerprint {fingerprint}")
    try:
        services = build_services(settings)
    except BackendStartError as exc:
        logger.error(str(exc))
        return 1

    import uvicorn

    from workspace.auth import Gate, needs_login
    from workspace.serving import urls
    from workspace.ui.web import create_web_app

    gate = None
    if needs_login(server.host, server.login):
        gate, new_password = Gate.for_data_dir(settings.data_dir)
        notes.append(f"  Login — user: {gate.credentials.username}  password: "
                     + (f"{new_password}\n  (shown once; change it with `python app.py --set-password`)"
                        if new_password else "(set earlier; `python app.py --set-password` changes it)"))
    web_app = create_web_app(services, gate)
    addresses = urls(server.host, server.port, cert is not None)
    print("\n  Local AI Workspace — open:\n" + "".join(f"    {u}\n" for u in addresses) + "\n".join(notes) + "\n",
          file=sys.stderr, flush=True)
    logger.info("Serving on {} (login {})", ", ".join(addresses), "on" if gate else "off")
    try:
        uvicorn.run(web_app, host=server.host, port=server.port, log_level="warning",
                    ssl_certfile=cert, ssl_keyfile=key)
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
