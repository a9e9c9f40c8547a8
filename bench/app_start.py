"""Whole-app start time with a big workspace vs. an empty one: `python app.py` until the page answers.

Builds the 100,000-message workspace of bench/store.py (or reuses one with --keep), then starts the real
app on each folder in turn, alternating, and prints the medians and the difference (target: ≤ 1 s).

    python bench/app_start.py [--runs 3] [--keep /tmp/store-bench]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.store import build  # noqa: E402
from workspace.store import WorkspaceStore  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_once(data_dir: Path, models_dir: Path) -> float:
    port = free_port()
    env = {**os.environ, "WORKSPACE_DATA_DIR": str(data_dir), "WORKSPACE_SERVER__PORT": str(port),
           "WORKSPACE_SERVER__HOST": "127.0.0.1",
           "WORKSPACE_ENGINE__MODE": "always", "WORKSPACE_ENGINE__MODELS_DIR": str(models_dir)}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"app exited with {process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="a folder from bench/store.py --keep, or where to build one")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "data" / "models")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="app-start-bench-"))
    data, empty = root / "data", root / "empty"
    try:
        if not (data / "index.json").exists():
            info = build(data, 50, 100, 20)
            with WorkspaceStore(data) as store:
                store.search("python")  # builds the search index, as a running app would have
            print(f"Built {info['messages']:,} messages in {info['chats']:,} chats.")
        empty.mkdir(parents=True, exist_ok=True)
        with_data, without = [], []
        for _ in range(args.runs):  # alternating, so machine noise hits both alike
            with_data.append(start_once(data, args.models_dir))
            without.append(start_once(empty, args.models_dir))
        slower = statistics.median(with_data) - statistics.median(without)
        print(f"app start to first page, median of {args.runs}: with 100k messages {statistics.median(with_data):.2f} s,"
              f" empty {statistics.median(without):.2f} s")
        print(f"slower with the data by {slower:+.2f} s   target <= 1 s  {'ok' if slower <= 1 else 'MISSED'}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
