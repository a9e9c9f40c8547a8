"""Engine tests: make the shared engine fixtures available even when the root conftest does not
register them (it may, through `pytest_plugins`; registering twice would start two engines)."""

from __future__ import annotations

_FIXTURES = "tests.engine.fixtures"


def pytest_configure(config):
    if not config.pluginmanager.has_plugin(_FIXTURES):
        config.pluginmanager.import_plugin(_FIXTURES)
