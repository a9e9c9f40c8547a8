"""What a sandbox run is guaranteed, in words: recorded with each pipeline run and shown in the UI.

Honest by construction — each line states what holds for that isolation as implemented in sandbox.py,
including where it is weak (the rlimits fallback's in-process network block, its world-readable files)."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workspace.pipeline.sandbox import SandboxLimits


def describe(isolation: str, limits: SandboxLimits, *, as_root: bool, python: str | None,
             private: Sequence[Path] = (), sandbox_ids: tuple[int, int] = (65534, 65534)) -> tuple[str, ...]:
    lines = _bubblewrap(limits, as_root) if isolation == "bubblewrap" else _rlimits(as_root, python)
    folders = [_private_folder(Path(folder), isolation, as_root, sandbox_ids) for folder in private]
    return (*lines, *folders, *_limits(limits, isolation, as_root), *_common())


def _private_folder(folder: Path, isolation: str, as_root: bool, sandbox_ids: tuple[int, int]) -> str:
    """Checked now, not assumed: under rlimits only the permissions on the way to the folder keep it closed."""
    if isolation == "bubblewrap":
        return f"{folder}: not mounted"
    if not folder.exists():
        return f"{folder}: does not exist yet (its permissions decide once it does)"
    if not as_root:
        return f"{folder}: READABLE (the code runs as your own user)"
    if closed_to(folder, *sandbox_ids):
        return f"{folder}: closed to uid {sandbox_ids[0]} by its permissions"
    return f"{folder}: READABLE by uid {sandbox_ids[0]}: its permissions let others in (make it 0700)"


def closed_to(folder: Path, uid: int, gid: int) -> bool:
    """Whether `uid`/`gid` cannot list `folder` or enter it or a folder on the way (a missing one is closed)."""
    folder = folder.resolve()
    for step in [folder, *folder.parents]:
        try:
            info = os.stat(step)
        except OSError:
            return True
        shift = 6 if info.st_uid == uid else 3 if info.st_gid == gid else 0
        needed = stat.S_IXOTH | (stat.S_IROTH if step == folder else 0)
        if (info.st_mode >> shift) & needed != needed:
            return True
    return False


def _bubblewrap(limits: SandboxLimits, as_root: bool) -> list[str]:
    user = ("runs as uid 65534 (nobody) with no capabilities" if as_root
            else "runs as your user inside its own user namespace, with no capabilities")
    return [
        "no network (its own network namespace: only its own loopback)",
        "cannot see or signal other processes (its own PID namespace)",
        f"read-only system: only /usr, a few /etc files (linker, passwd, group, timezone) and the Python at "
        f"{sys.base_prefix} are mounted",
        "the data folder and home folders are not mounted: nothing of them exists inside",
        f"writable: only its fresh work folder (removed after the run) and a private /tmp and /dev/shm of "
        f"{limits.file_mb} MB each",
        user,
        "every process of the run is killed when it ends, times out or is cancelled (its PID namespace goes)",
    ]


def _rlimits(as_root: bool, python: str | None) -> list[str]:
    lines = [
        "network refused only inside Python, by an audit hook (no internet sockets, no connect, no DNS, no "
        "ctypes calls): native code can bypass it, and run_command is not covered",
        "starting other programs refused inside Python by the same hook (run_python only)",
        "sees the whole file system and all processes (no namespaces)",
        "its process group is killed when it ends, times out or is cancelled; a process that starts a session "
        "of its own escapes that kill (its CPU time stays limited)",
    ]
    if as_root:
        lines += [
            "runs as uid 65534 (nobody): reads whatever is world-readable; the data folder and home are "
            "unreadable to it only while their permissions are 0700",
            "writes only where uid 65534 may: its fresh work folder (removed after the run) and "
            "world-writable places such as /tmp",
        ]
    else:
        lines.append("runs as your own user: it can read and write whatever you can, the data folder included")
    if python and python != sys.executable:
        lines.append(f"Python: {python} (the app's own interpreter is not readable by the sandbox user)")
    return lines


def _limits(limits: SandboxLimits, isolation: str, as_root: bool) -> list[str]:
    # Without a user namespace of its own the kernel counts every process of the uid: the limit is set on top.
    shared = " more than its user already runs" if as_root or isolation == "rlimits" else ""
    return [
        f"CPU {limits.cpu_s} s, memory {limits.memory_mb} MB, {limits.processes} processes{shared}, "
        f"files {limits.file_mb} MB each",
        f"wall {limits.wall_s:g} s; output kept up to {limits.output_bytes} bytes per stream, killed on a flood",
    ]


def _common() -> list[str]:
    return [
        "scrubbed environment: only PATH, HOME, TMPDIR, locale and Python settings",
        "setuid programs grant nothing (no_new_privs)",
    ]
