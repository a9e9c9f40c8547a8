"""Privacy switches that must be set before gradio or huggingface_hub are imported.

Gradio phones home for analytics and version checks unless told not to; huggingface_hub (pulled in
by gradio_client) fetches from its hub unless offline; and Gradio serves every file under its temp
folder, so that folder must be ours (inside the data folder), never the shared system temp.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVACY_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}


def apply_privacy_env(data_dir: Path) -> Path:
    """Set the switches and Gradio's temp folder; returns that folder."""
    os.environ.update(PRIVACY_ENV)
    temp_dir = Path(data_dir).resolve() / "tmp"
    temp_dir.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(temp_dir)
    return temp_dir
