"""The sandbox in which the code pipeline runs model-generated code and its checks.

Owns the child process and everything around it: bubblewrap where `bwrap` works (own network and PID
namespaces, a read-only system with only /usr, a few /etc files and the Python in it, the work folder its
only writable place), else resource limits, the sandbox user and a socket-refusing audit hook; a fresh work
folder per run, always removed; a scrubbed environment; output captured concurrently and truncated; the whole
process tree killed on the wall limit, on cancel or on an output flood. `Sandbox.guarantees` says, honestly,
which of these hold. The in-sandbox half (privilege drop, limits, supervision) is sandbox_child.py.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from workspace.pipeline.sandbox_capture import Capture, wait_group_gone
from workspace.pipeline.sandbox_guarantees import describe

SANDBOX_UID = SANDBOX_GID = 65534  # nobody / nogroup: owns nothing, so 0700 folders stay closed to it
INSIDE = "/sandbox"  # the work folder's path inside bubblewrap
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
TOP_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What dynamic linking, Debian's alternatives (cc → gcc) and user look-ups need; nothing with secrets.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/passwd",
             "/etc/group", "/etc/nsswitch.conf", "/etc/localtime")
FLOOD_FACTOR = 16  # a stream this many times over output_bytes is a flood: the child is killed
POLL_S = 0.02  # how often cancel and the wall clock are checked while the child runs
MB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    wall_s: float = 10.0  # wall-clock limit for the whole run
    cpu_s: int = 5  # RLIMIT_CPU
    memory_mb: int = 512  # RLIMIT_AS
    processes: int = 32  # max processes/threads (RLIMIT_NPROC)
    file_mb: int = 16  # RLIMIT_FSIZE (and the size of bubblewrap's private /tmp)
    output_bytes: int = 65536  # stdout and stderr each captured up to this, the rest dropped (truncated=True)

    def rlimits(self) -> dict[str, tuple[int, int]]:
        """The limits sandbox_child.py sets; CPU's hard limit one second later, after SIGXCPU."""
        return {
            "RLIMIT_CPU": (self.cpu_s, self.cpu_s + 1),
            "RLIMIT_AS": (self.memory_mb * MB,) * 2,
            "RLIMIT_NPROC": (self.processes,) * 2,
            "RLIMIT_FSIZE": (self.file_mb * MB,) * 2,
            "RLIMIT_CORE": (0, 0),
        }


@dataclass(frozen=True)
class RunResult:
    exit_code: int | None  # None when killed; minus the signal number when a signal ended it
    stdout: str
    stderr: str
    timed_out: bool  # the wall or the CPU limit killed it
    killed: str | None  # why: "wall time" | "cpu time" | "memory" | "cancelled" | "output" | None
    truncated: bool
    seconds: float
    isolation: str  # "bubblewrap" | "rlimits"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.killed


@functools.cache
def _bwrap_works(as_root: bool) -> bool:
    """Probe once per process: can bubblewrap start a sandbox here (user namespaces, mount rights)?"""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    argv = [bwrap, *_bwrap_namespaces(as_root), *_bwrap_system(), "--", "/usr/bin/true"]
    try:
        return subprocess.run(argv, capture_output=True, timeout=30, env={}).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.cache
def _fallback_python(as_root: bool) -> str | None:
    """A Python the sandbox user can start: the app's own may live in a home it cannot enter (/root)."""
    candidates = [sys.executable, shutil.which("python3", path=SYSTEM_PATH)]
    for python in dict.fromkeys(c for c in candidates if c):
        try:
            done = subprocess.run([python, "-I", "-c", "pass"], capture_output=True, timeout=30, env={},
                                  cwd="/", **_user_args(as_root))
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return python
    return None


@functools.cache
def _child_source() -> str:
    return Path(__file__).with_name("sandbox_child.py").read_text(encoding="utf-8")


def _user_args(as_root: bool) -> dict:
    return {"user": SANDBOX_UID, "group": SANDBOX_GID, "extra_groups": []} if as_root else {}


def _bwrap_namespaces(as_root: bool) -> list[str]:
    # As root bubblewrap needs no user namespace (and one would map the sandbox user back to root, whom no
    # process limit binds); it keeps every capability unless told, so keep only what the uid drop needs.
    common = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
              "--die-with-parent", "--new-session", "--clearenv"]
    if as_root:
        return [*common, "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return ["--unshare-user", *common]


def _bwrap_system() -> list[str]:
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


def _install_root(executable: str) -> str:
    """/x/y/bin/tool → /x/y: the folder a toolchain needs beside its binary (its lib/, share/)."""
    return os.path.dirname(os.path.dirname(os.path.realpath(executable)))


def _bind_roots(extra: Sequence[str]) -> list[str]:
    """The interpreter's prefixes (and a tool's install folder) outside /usr, bound read-only."""
    roots = [sys.base_prefix, sys.prefix, _install_root(sys.executable), *extra]
    roots = [os.path.realpath(root) for root in roots]
    return sorted({r for r in roots if r != "/" and not r.startswith("/usr/") and os.path.isdir(r)})


def _open_parents(root: str) -> list[str]:
    """Enterable folders above a bound root: bubblewrap would copy /root's 0700, closing it to the sandbox user."""
    args = []
    for parent in reversed(PurePosixPath(root).parents[:-1]):
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _safe_path(folder: Path, name: str) -> Path:
    relative = PurePosixPath(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"Sandbox file names must be relative paths inside the work folder, not {name!r}")
    return folder.joinpath(*relative.parts)


def _write_files(folder: Path, files: Mapping[str, str], give_to_sandbox_user: bool) -> None:
    for name, text in files.items():
        path = _safe_path(folder, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if give_to_sandbox_user:  # its only writable place must be writable by it
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, SANDBOX_UID, SANDBOX_GID)


def _environment(home: str, extra_path: Sequence[str]) -> dict[str, str]:
    """Built from nothing: no HOME secrets, no WORKSPACE_*/OLLAMA_* variables, nothing the app inherited."""
    return {
        "PATH": ":".join(dict.fromkeys([*extra_path, *SYSTEM_PATH.split(":")])),
        "HOME": home,
        "TMPDIR": home if home != INSIDE else "/tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",  # what was printed before a kill is still captured
        "PYTHONIOENCODING": "utf-8",
    }


def _remove_folder(folder: Path) -> None:
    def writable_then_retry(function, path, _info):
        os.chmod(os.path.dirname(path), 0o700)  # the program may have closed a folder it owns
        function(path)

    shutil.rmtree(folder, onerror=writable_then_retry)


def _not_started(message: str, isolation: str) -> RunResult:
    return RunResult(127, "", message, False, None, False, 0.0, isolation)


class Sandbox:
    """Runs code in a child process that cannot reach the network, the data folder or anything it may not."""

    def __init__(self, limits: SandboxLimits = SandboxLimits(), *, use_bwrap: bool | None = None,
                 temp_root: str | None = None):
        self.limits = limits
        self._use_bwrap = use_bwrap
        self._temp_root = temp_root  # where work folders are made; None: the system's temp folder
        self._as_root = os.geteuid() == 0

    @property
    def isolation(self) -> str:
        if self._use_bwrap is None:
            self._use_bwrap = _bwrap_works(self._as_root)
        return "bubblewrap" if self._use_bwrap else "rlimits"

    @property
    def guarantees(self) -> tuple[str, ...]:
        python = sys.executable if self.isolation == "bubblewrap" else _fallback_python(self._as_root)
        return describe(self.isolation, self.limits, as_root=self._as_root, python=python)

    def run_python(self, code: str, *, files: Mapping[str, str] | None = None, stdin: str = "",
                   cancel: threading.Event | None = None, limits: SandboxLimits | None = None,
                   on_start: Callable[[], None] | None = None) -> RunResult:
        """Run `code` as main.py (beside `files`) in a fresh work folder; `on_start` once the child exists."""
        files = dict(files or {})
        if "main.py" in files:
            raise ValueError("files may not replace main.py: the code is main.py")
        files["main.py"] = code
        return self._run({"mode": "python"}, files, stdin, cancel, limits, on_start, tool_roots=())

    def run_command(self, argv: Sequence[str], *, files: Mapping[str, str] | None = None,
                    cancel: threading.Event | None = None, limits: SandboxLimits | None = None,
                    on_start: Callable[[], None] | None = None) -> RunResult:
        """Run a toolchain (e.g. ["gcc", "-fsyntax-only", "main.c"]) in a fresh work folder with `files`.

        A program that is not installed gives exit code 127 and says so on stderr, like a shell."""
        if not argv:
            raise ValueError("run_command needs a program to run")
        program = shutil.which(argv[0])
        if program is None:
            return _not_started(f"sandbox: {argv[0]}: command not found\n", self.isolation)
        spec = {"mode": "exec", "argv": [program, *argv[1:]]}
        return self._run(spec, dict(files or {}), "", cancel, limits, on_start, tool_roots=[_install_root(program)])

    def _run(self, spec: dict, files: dict[str, str], stdin: str, cancel: threading.Event | None,
             limits: SandboxLimits | None, on_start: Callable[[], None] | None, tool_roots: Sequence[str]):
        limits = limits or self.limits
        isolation = self.isolation
        if cancel is not None and cancel.is_set():
            return RunResult(None, "", "", False, "cancelled", False, 0.0, isolation)
        folder = Path(tempfile.mkdtemp(prefix="sandbox-", dir=self._temp_root))
        status_read, status_write = os.pipe()
        try:
            _write_files(folder, files, give_to_sandbox_user=self._as_root)
            spec = self._spec(spec, limits, status_write, isolation)
            if spec is None:
                return _not_started("sandbox: no Python the sandbox user can run\n", isolation)
            started = time.monotonic()
            process = self._spawn(spec, folder, status_write, tool_roots, limits)
            os.close(status_write)
            status_write = -1
            if on_start is not None:
                on_start()
            return self._watch(process, stdin, limits, cancel, started, status_read, isolation)
        finally:
            for fd in (status_read, status_write):
                if fd >= 0:
                    os.close(fd)
            _remove_folder(folder)

    def _spec(self, spec: dict, limits: SandboxLimits, status_fd: int, isolation: str) -> dict | None:
        bwrap = isolation == "bubblewrap"
        python = sys.executable if bwrap else _fallback_python(self._as_root)
        if python is None:
            return None
        drop = bwrap and self._as_root  # under rlimits Popen drops to the sandbox user before exec
        return {**spec, "python": python, "source": _child_source(), "status_fd": status_fd,
                "rlimits": limits.rlimits(), "uid": SANDBOX_UID if drop else None, "gid": SANDBOX_GID,
                "block_network": not bwrap, "cwd": INSIDE if bwrap else None}

    def _spawn(self, spec: dict, folder: Path, status_fd: int, tool_roots: Sequence[str], limits: SandboxLimits):
        child = [spec["python"], "-I", "-B", "-c", spec["source"], json.dumps(spec)]
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        if self.isolation == "rlimits":
            env = _environment(str(folder), [os.path.dirname(spec["python"])])
            return subprocess.Popen(child, cwd=folder, env=env, start_new_session=True, pass_fds=(status_fd,),
                                    **pipes, **_user_args(self._as_root))
        roots = _bind_roots(tool_roots)
        argv = [shutil.which("bwrap") or "bwrap", *_bwrap_namespaces(self._as_root), *_bwrap_system()]
        for root in roots:
            argv += [*_open_parents(root), "--ro-bind", root, root]
        for scratch in ("/tmp", "/dev/shm"):  # /dev/shm: multiprocessing's semaphores
            argv += ["--perms", "1777", "--size", str(limits.file_mb * MB), "--tmpfs", scratch]
        argv += ["--bind", str(folder), INSIDE]
        bin_dirs = [os.path.dirname(spec["python"]), *(os.path.join(root, "bin") for root in tool_roots)]
        for key, value in _environment(INSIDE, bin_dirs).items():
            argv += ["--setenv", key, value]
        return subprocess.Popen([*argv, "--", *child], cwd="/", env={}, start_new_session=True,
                                pass_fds=(status_fd,), **pipes)

    def _watch(self, process: subprocess.Popen, stdin: str, limits: SandboxLimits,
               cancel: threading.Event | None, started: float, status_fd: int, isolation: str) -> RunResult:
        """Pump the pipes until the child ends or must be killed; then kill its whole group and reap it."""
        capture = Capture(process, stdin.encode("utf-8"), limits.output_bytes, limits.output_bytes * FLOOD_FACTOR)
        deadline = started + limits.wall_s
        reason = None
        try:
            while not _has_exited(process.pid):
                reason = _stop_reason(cancel, deadline, capture)
                if reason:
                    break
                capture.pump(POLL_S)
        finally:
            _kill_group(process.pid)
            capture.drain()
            process.wait()
            wait_group_gone(process.pid)
        status = _read_status(status_fd)
        killed = reason or _limit_hit(status, limits)
        exit_code = None if killed else _exit_code(status, process.returncode)
        out, err, truncated = capture.text()
        return RunResult(exit_code, out, err, killed in ("wall time", "cpu time"), killed, truncated,
                         time.monotonic() - started, isolation)


def _has_exited(pid: int) -> bool:
    # WNOWAIT: leave the child unreaped, so its pid — the process group's id — cannot be reused before the
    # group is killed.
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _stop_reason(cancel: threading.Event | None, deadline: float, capture: Capture) -> str | None:
    if cancel is not None and cancel.is_set():
        return "cancelled"
    if capture.flooded:
        return "output"
    if time.monotonic() >= deadline:
        return "wall time"
    return None


def _kill_group(pgid: int) -> None:
    """SIGKILL the session's group: under bubblewrap that is bwrap, whose death takes its PID namespace along."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_status(fd: int) -> dict:
    """The supervisor's (and runner's) JSON lines, merged; empty when it never got to report."""
    os.set_blocking(fd, False)
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    status: dict = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            status.update(json.loads(line))
        except (ValueError, TypeError):
            continue  # the program may write to the inherited status pipe; only well-formed lines count
    return status


def _limit_hit(status: dict, limits: SandboxLimits) -> str | None:
    if status.get("memory"):
        return "memory"
    ended_by = status.get("signal")
    if ended_by == signal.SIGXCPU or (ended_by == signal.SIGKILL and status.get("cpu", 0) >= limits.cpu_s):
        return "cpu time"
    return None


def _exit_code(status: dict, returncode: int) -> int:
    if isinstance(status.get("signal"), int):
        return -status["signal"]
    if isinstance(status.get("exit"), int):
        return status["exit"]
    return returncode
