"""Session fixtures for the embedded engine, shared by the whole test suite.

Register from the root conftest with `pytest_plugins = ["tests.engine.fixtures"]`.
`engine_models_dir` holds the verified starter model (assembled once per session, removed at the end);
`engine_server` is ONE running EngineServer on it; `engine_url` is its base URL; `starter_model`
is the starter model's name, or a failure naming the pip command when its packages are missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workspace.engine import STARTER_MODEL, EngineServer, ModelUnavailable

ENGINE_THREADS = 2  # the test machine has 2 cores, shared
ENGINE_PARALLEL = 4  # requests decoded together (test_batching.py fills every slot)


@pytest.fixture(scope="session")
def engine_models_dir(tmp_path_factory) -> Path:
    """A session models folder with the starter model assembled and verified up front, so other
    processes (the app under test) can use it without assembling it themselves."""
    models_dir = tmp_path_factory.mktemp("engine-models")
    try:
        EngineServer(models_dir).prepare_model(STARTER_MODEL)
    except ModelUnavailable:
        pass  # `starter_model` fails, with the reason
    yield models_dir
    shutil.rmtree(models_dir, ignore_errors=True)  # half a gigabyte per session otherwise


@pytest.fixture(scope="session")
def engine_server(engine_models_dir) -> EngineServer:
    server = EngineServer(engine_models_dir, threads=ENGINE_THREADS, max_queue=8, parallel=ENGINE_PARALLEL)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def engine_url(engine_server) -> str:
    return engine_server.url


@pytest.fixture(scope="session")
def starter_model(engine_server) -> str:
    if STARTER_MODEL not in engine_server.model_names():
        # A failure, not a skip: the README's install brings the model, and a skip would hide that it broke.
        reason = engine_server.registry.missing_reason(STARTER_MODEL) or "starter model unavailable"
        pytest.fail(reason)
    return STARTER_MODEL
