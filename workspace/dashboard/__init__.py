"""The dashboard: what the pipeline and the models did, read from the run history (`workspace.history`).

`reader` reads the rotating JSONL files, `index` keeps the derived SQLite index behind filters and
aggregates, `service` is what the REST API and the page call.
"""
