"""Every third-party module the code or the tests import is named in a requirements file.

A fresh virtual environment installs only what the requirements files name; a module that the machine
happens to have (but no file names) passes locally and fails there. `.ci/run` also runs the suite in such
an environment; this test names the culprit before that.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWN = {"workspace", "tests", "bench", "app", "scripts"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    names = set()
    for path in ROOT.glob("requirements*.txt"):
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                names.add(_normal(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]))
    return names


def imported_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in ROOT.rglob("*.py"):
        if any(part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path.relative_to(ROOT))
    return found


def test_every_third_party_import_is_declared():
    distributions = packages_distributions()
    wanted = declared()
    missing = []
    for module, where in sorted(imported_modules().items()):
        if module in OWN or module in sys.stdlib_module_names:
            continue
        owners = {_normal(d) for d in distributions.get(module, [])}
        if not owners & wanted:
            missing.append(f"{module} (imported by {where}; installed from {sorted(owners) or 'nowhere'})")
    assert not missing, "Imported but named in no requirements file: " + "; ".join(missing)
