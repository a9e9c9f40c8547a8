"""The embedded engine: an Ollama-compatible HTTP API served from llama.cpp on loopback.

Public surface for the rest of the app: `EngineServer` (start/stop/url/model_names),
`STARTER_MODEL` (the model shipped in PyPI packages) and `ModelUnavailable`. Importing this
package starts nothing and loads nothing.
"""

from workspace.engine.models import STARTER_MODEL, ModelUnavailable
from workspace.engine.server import EngineServer

__all__ = ["STARTER_MODEL", "EngineServer", "ModelUnavailable"]
