"""Run the engine alone: `python -m workspace.engine --port 11435 [--models-dir DIR] [--threads N]`.

Owns the command line only; it serves until interrupted.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from workspace.engine import EngineServer


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m workspace.engine",
        description="Serve the Ollama API from llama.cpp on loopback.")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (the API has no authentication)")
    parser.add_argument("--port", type=int, default=11435, help="0 picks a free port")
    parser.add_argument("--models-dir", type=Path, default=Path("data/models"))
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp CPU threads")
    parser.add_argument("--max-queue", type=int, default=16)
    parser.add_argument("--parallel", type=int, default=4, help="requests decoded together per model")
    parser.add_argument("--keep-alive", type=float, default=300, help="seconds a model stays loaded")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        engine = EngineServer(args.models_dir, host=args.host, port=args.port, threads=args.threads,
                              max_queue=args.max_queue, keep_alive_s=args.keep_alive,
                              parallel=args.parallel)
    except ValueError as error:
        raise SystemExit(f"python -m workspace.engine: {error}") from None
    done = threading.Event()
    # SIGTERM as well as Ctrl-C, so a supervisor (or a test) can stop it cleanly.
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    url = engine.start()
    print(f"engine serving {', '.join(engine.model_names()) or 'no models'} at {url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        engine.stop()


if __name__ == "__main__":
    main()
