"""Image reading: time to analyse a 1920×1080 screenshot with OCR alone (and with a vision model when one is
given and reports the capability), p50 over --runs, and OCR's character accuracy (spaces aside) on 20
rendered screenshots of code and logs, light and dark, 12–16 px monospace.

The app's OCR settings (parse.OCR_PARAMS) are timed against rapidocr's defaults in the same process, the two
reads taking turns, so the ratio holds however loaded the machine is; CPU time (all threads) is printed beside
wall time for the same reason. --no-baseline times the app's settings alone.

    python bench/vision.py [--runs 10] [--no-baseline] [--vision-model llava:7b --host http://127.0.0.1:11434]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from tests.vision.rendering import TRACEBACK, char_accuracy, render  # noqa: E402
from workspace.llm import LLMGateway  # noqa: E402
from workspace.vision.parse import Describer, TextReader, analyse  # noqa: E402

CODE = [
    "def load(path: str) -> dict:",
    '    """Read the settings file; missing keys get defaults."""',
    "    with open(path, encoding='utf-8') as handle:",
    "        data = json.load(handle)",
    "    return {**DEFAULTS, **data}",
    "",
    "for index, item in enumerate(items[1:], start=2):",
    "    total += item.price * item.quantity  # cents",
]
LOG = [
    "2026-12-02 01:14:07.512 | INFO     | worker:run:88 - job 4411 started (queue=default)",
    "2026-12-02 01:14:09.030 | WARNING  | db:retry:41 - deadlock detected, retrying (2/5)",
    "2026-12-02 01:14:09.871 | ERROR    | api:handler:203 - POST /v1/orders -> 500 in 842 ms",
    "psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint",
    'DETAIL:  Key (email)=(ada@example.org) already exists.',
]


def full_hd(lines: list[str], theme: str) -> Image.Image:
    """A 1920×1080 screenshot: the text in its top left, as a terminal or an editor shows it."""
    canvas = Image.new("RGB", (1920, 1080), "white" if theme == "light" else "#1e1e1e")
    canvas.paste(render(lines, theme, 14), (0, 0))
    return canvas


def corpus() -> list[tuple[str, Image.Image]]:
    """20 screenshots: traceback, code and logs, alternating themes, 12–16 px."""
    sources = [TRACEBACK, CODE, LOG, TRACEBACK + LOG[:2]]
    shots = []
    for number in range(20):
        lines = [line for line in sources[number % 4] if line]
        theme = "light" if number % 2 == 0 else "dark"
        shots.append(("\n".join(lines), render(lines, theme, 12 + number % 5)))
    return shots


def timed(readers: dict[str, TextReader], image: Image.Image, runs: int) -> dict[str, dict]:
    """Each reader's wall and CPU times (all threads) over `runs` reads of `image`, the readers taking turns."""
    found = {name: {"wall": [], "cpu": [], "text": ""} for name in readers}
    for name, reader in readers.items():
        reader.read(render(["warm-up"]))  # builds the OCR engine: not part of an analysis
    for _ in range(runs):
        for name, reader in readers.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            found[name]["text"] = reader.read(image)
            found[name]["wall"].append(time.perf_counter() - start)
            found[name]["cpu"].append(time.process_time() - start_cpu)
    return found


def accuracy_line(reader: TextReader) -> str:
    scores = [char_accuracy(expected, reader.read(image)) for expected, image in corpus()]
    light, dark = scores[0::2], scores[1::2]
    return (f"mean {statistics.mean(scores):.4f}, min {min(scores):.4f} (light mean {statistics.mean(light):.4f}, "
            f"dark mean {statistics.mean(dark):.4f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-baseline", action="store_true", help="time the app's OCR settings alone")
    parser.add_argument("--vision-model", default="")
    parser.add_argument("--host", default="http://127.0.0.1:11434")
    args = parser.parse_args()
    readers = {"app settings": TextReader()}
    if not args.no_baseline:
        readers["rapidocr defaults"] = TextReader(tuned=False)
    lines = (TRACEBACK * 6)[:36]
    screenshot = full_hd(lines, "dark")
    found = timed(readers, screenshot, args.runs)
    for name, result in found.items():
        wall, cpu = statistics.median(result["wall"]), statistics.median(result["cpu"])
        print(f"OCR ({name}), 1920x1080 dark, 36 lines: p50 {wall:.2f} s, min {min(result['wall']):.2f} s over "
              f"{args.runs} runs (CPU p50 {cpu:.2f} s); character accuracy "
              f"{char_accuracy(chr(10).join(lines), result['text']):.3f}")
    if not args.no_baseline:
        ours, base = found["app settings"], found["rapidocr defaults"]
        print(f"app settings / rapidocr defaults: wall p50 "
              f"{statistics.median(ours['wall']) / statistics.median(base['wall']):.2f}, CPU p50 "
              f"{statistics.median(ours['cpu']) / statistics.median(base['cpu']):.2f}")
    reader = readers["app settings"]
    if args.vision_model:
        gateway = LLMGateway(args.host)
        describer = Describer(gateway, args.vision_model, args.host, 1024)
        start = time.perf_counter()
        result = analyse([("screenshot", screenshot)], reader, describer)
        print(f"OCR + {args.vision_model}: {time.perf_counter() - start:.2f} s "
              f"({'described' if 'Description by' in result else 'no description: ' + result.splitlines()[-1]})")
        gateway.close()
    for name, each in readers.items():
        print(f"character accuracy on 20 rendered screenshots ({name}): {accuracy_line(each)}")


if __name__ == "__main__":
    main()
