"""bubblewrap's command line for one sandbox run, and the probe whether bubblewrap works here at all.

What is mounted is chosen, never the whole root: /usr (and the /bin, /lib… links into it), a few /etc
files, /proc and /dev of its own, the Python that runs the code (here it lives under /root: only its prefix
is bound, nothing else of /root), a toolchain's install folder, two small tmpfs and the work folder.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

INSIDE = "/sandbox"  # the work folder's path inside
TOP_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What dynamic linking, Debian's alternatives (cc → gcc) and user look-ups need; nothing with secrets.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/passwd",
             "/etc/group", "/etc/nsswitch.conf", "/etc/localtime")


@functools.cache
def works(as_root: bool) -> bool:
    """Probe once per process: can bubblewrap start a sandbox here (user namespaces, mount rights)?"""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    argv = [bwrap, *_namespaces(as_root), *_system(), "--", "/usr/bin/true"]
    try:
        return subprocess.run(argv, capture_output=True, timeout=30, env={}).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def command(child: Sequence[str], *, as_root: bool, folder: str, env: Mapping[str, str],
            tool_roots: Sequence[str], scratch_bytes: int, private: Sequence[Path] = ()) -> list[str]:
    """bwrap's argv running `child` with `folder` bound writable at INSIDE and nothing else writable."""
    argv = [shutil.which("bwrap") or "bwrap", *_namespaces(as_root), *_system()]
    for root in _bind_roots(tool_roots, private):
        argv += [*_open_parents(root), "--ro-bind", root, root]
    for scratch in ("/tmp", "/dev/shm"):  # /dev/shm: multiprocessing's semaphores
        argv += ["--perms", "1777", "--size", str(scratch_bytes), "--tmpfs", scratch]
    argv += ["--bind", folder, INSIDE]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return [*argv, "--", *child]


def install_root(executable: str) -> str:
    """/x/y/bin/tool → /x/y: the folder a toolchain needs beside its binary (its lib/, share/)."""
    return os.path.dirname(os.path.dirname(os.path.realpath(executable)))


def _namespaces(as_root: bool) -> list[str]:
    # As root bubblewrap needs no user namespace (and one would map the sandbox user back to root, whom no
    # process limit binds); it keeps every capability unless told, so keep only what the uid drop needs.
    common = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
              "--die-with-parent", "--new-session", "--clearenv"]
    if as_root:
        return [*common, "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return ["--unshare-user", *common]


def _system() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev"]
    for top in TOP_DIRS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--perms", "0755", "--dir", "/etc"]  # made 0700 otherwise, closed to the sandbox user
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    return args


def _bind_roots(extra: Sequence[str], private: Sequence[Path] = ()) -> list[str]:
    """The interpreter's prefixes (and a tool's install folder) outside /usr, bound read-only — unless binding
    one would bring along a private folder, a home, the working folder or this program's checkout."""
    private = [*(Path(folder).resolve() for folder in private), Path.home(), Path.cwd(),
               Path(__file__).resolve().parents[2]]
    roots = {Path(os.path.realpath(root)) for root in [sys.base_prefix, sys.prefix, install_root(sys.executable),
                                                       *extra]}
    return sorted(str(root) for root in roots if root.is_dir() and not root.is_relative_to("/usr")
                  and not any(folder.is_relative_to(root) for folder in private))


def _open_parents(root: str) -> list[str]:
    """Enterable folders above a bound root: bubblewrap would copy /root's 0700, closing it to the sandbox user."""
    args = []
    for parent in reversed(PurePosixPath(root).parents[:-1]):
        args += ["--perms", "0755", "--dir", str(parent)]
    return args
