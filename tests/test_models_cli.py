"""`python -m workspace.models add`: a packaged model is verified in the engine's folder; others are refused."""

from __future__ import annotations

import io

from workspace import models as models_cli
from workspace.engine.models import PACKAGED_DIR, STARTER, is_verified


def test_adding_the_installed_starter_verifies_it_without_pip(engine_models_dir, starter_model):
    out = io.StringIO()
    path = models_cli.add(STARTER, engine_models_dir, out=out)
    assert path == engine_models_dir / PACKAGED_DIR / STARTER.filename
    assert is_verified(path, STARTER.size, STARTER.sha256) and "pip" not in out.getvalue()


def test_an_unknown_model_is_refused_with_the_packaged_names(capsys):
    assert models_cli.main(["add", "llama3.1:8b"]) == 2
    error = capsys.readouterr().err
    assert "not a packaged model" in error and "qwen2.5-coder:1.5b" in error
