"""Restore a workspace backup into a new data folder: `python -m workspace.restore BACKUP.zip NEW_FOLDER`.

It never writes over existing data: the target must be empty or not exist. Start the app on the
restored folder with `WORKSPACE_DATA_DIR=NEW_FOLDER python app.py`.
"""

from __future__ import annotations

import argparse
import sys

from workspace.store import StoreError, WorkspaceStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workspace.restore", description=__doc__.splitlines()[0])
    parser.add_argument("backup", help="a zip made by the app's backup")
    parser.add_argument("target", help="an empty or new folder to restore into")
    args = parser.parse_args(argv)
    try:
        restored = WorkspaceStore.restore_zip(args.backup, target_dir=args.target)
    except (StoreError, OSError) as exc:
        print(f"Restore failed, nothing was overwritten: {exc}", file=sys.stderr)
        return 1
    print(f"Restored into {restored}. Start the app on it with: WORKSPACE_DATA_DIR={restored} python app.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
