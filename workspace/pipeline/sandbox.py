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

from workspace.pipeline import sandbox_bwrap
from workspace.pipeline.sandbox_bwrap import INSIDE
from workspace.pipeline.sandbox_guarantees import describe
from workspace.pipeline.sandbox_watch import Capture, has_exited, kill_group, tasks_of, wait_group_gone

SANDBOX_UID = SANDBOX_GID = 65534  # nobody / nogroup: owns nothing, so 0700 folders stay closed to it
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
FLOOD_FACTOR = 16  # a stream this many times over output_bytes is a flood: the child is killed
POLL_S = 0.02  # how often cancel and the wall clock are checked while the child runs
MB = 1024 * 1024
STATUS_TYPES = {"exit": int, "signal": int, "cpu": (int, float), "memory": bool}  # what sandbox_child reports


@dataclass(frozen=True)
class SandboxLimits:
    wall_s: float = 10.0  # wall-clock limit for the whole run
    cpu_s: int = 5  # RLIMIT_CPU
    memory_mb: int = 512  # RLIMIT_AS
    processes: int = 32  # max processes/threads (RLIMIT_NPROC)
    file_mb: int = 16  # RLIMIT_FSIZE (and the size of bubblewrap's private /tmp)
    output_bytes: int = 65536  # stdout and stderr each captured up to this, the rest dropped (truncated=True)

    def rlimits(self, tasks_already: int = 0) -> dict[str, tuple[int, int]]:
        """The limits sandbox_child.py sets; CPU's hard limit one second later, after SIGXCPU."""
        return {
            "RLIMIT_CPU": (self.cpu_s, self.cpu_s + 1),
            "RLIMIT_AS": (self.memory_mb * MB,) * 2,
            "RLIMIT_NPROC": (tasks_already + self.processes,) * 2,
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
def _own_python() -> str:
    """This interpreter's real file: a virtual environment's `python` is a link into a folder (often under
    /tmp) that the sandbox does not mount; the generated code and the harness need the standard library only."""
    return os.path.realpath(sys.executable)


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


def _safe_path(folder: Path, name: str) -> Path:
    relative = PurePosixPath(name)
    if not relative.parts or relative.is_absolute() or ".." in relative.parts:
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
        "PYTHONUNBUFFERED": "1",  # for Pythons that run_command starts (run_python's runner has -u)
        "PYTHONIOENCODING": "utf-8",
    }


def _remove_folder(folder: Path) -> None:
    def open_then_retry(function, path, _info):
        try:
            os.chmod(os.path.dirname(path), 0o700)  # the program may have closed a folder of its own
            function(path)
        except OSError:
            pass  # a leftover must not turn the run's result into an error

    shutil.rmtree(folder, onerror=open_then_retry)


def _not_started(message: str, isolation: str) -> RunResult:
    return RunResult(127, "", message, False, None, False, 0.0, isolation)


class Sandbox:
    """Runs code in a child process that cannot reach the network, the data folder or anything it may not."""

    def __init__(self, limits: SandboxLimits = SandboxLimits(), *, use_bwrap: bool | None = None,
                 temp_root: str | None = None, private_folders: Sequence[str | Path] = ()):
        self.limits = limits
        self._use_bwrap = use_bwrap
        self._temp_root = temp_root  # where work folders are made; None: the system's temp folder
        # Folders the code must never read (the data folder): never mounted, and checked in `guarantees`.
        self._private = tuple(Path(folder) for folder in private_folders)
        self._as_root = os.geteuid() == 0

    @property
    def isolation(self) -> str:
        if self._use_bwrap is None:
            self._use_bwrap = sandbox_bwrap.works(self._as_root)
        return "bubblewrap" if self._use_bwrap else "rlimits"

    @property
    def guarantees(self) -> tuple[str, ...]:
        python = _own_python() if self.isolation == "bubblewrap" else _fallback_python(self._as_root)
        return describe(self.isolation, self.limits, as_root=self._as_root, python=python, private=self._private,
                        sandbox_ids=(SANDBOX_UID, SANDBOX_GID))

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
        tool_roots = [sandbox_bwrap.install_root(program)]
        return self._run(spec, dict(files or {}), "", cancel, limits, on_start, tool_roots)

    def _run(self, spec: dict, files: dict[str, str], stdin: str, cancel: threading.Event | None,
             limits: SandboxLimits | None, on_start: Callable[[], None] | None, tool_roots: Sequence[str]):
        if sys.platform != "linux":
            raise RuntimeError(f"The code sandbox needs Linux; generated code is not run on {sys.platform}")
        limits = limits or self.limits
        if cancel is not None and cancel.is_set():
            return RunResult(None, "", "", False, "cancelled", False, 0.0, self.isolation)
        folder = Path(tempfile.mkdtemp(prefix="sandbox-", dir=self._temp_root))
        status_read, status_write = os.pipe()
        try:
            _write_files(folder, files, give_to_sandbox_user=self._as_root)
            spec = self._spec(spec, limits, status_write)
            if spec is None:
                return _not_started("sandbox: no Python the sandbox user can run\n", self.isolation)
            started = time.monotonic()
            process = self._spawn(spec, folder, tool_roots, limits)
            os.close(status_write)
            status_write = -1
            return self._watch(process, stdin, limits, cancel, on_start, started, status_read)
        finally:
            for fd in (status_read, status_write):
                if fd >= 0:
                    os.close(fd)
            _remove_folder(folder)

    def _spec(self, spec: dict, limits: SandboxLimits, status_fd: int) -> dict | None:
        """What sandbox_child.py is told: which Python, which uid, which limits, where to report."""
        bwrap = self.isolation == "bubblewrap"
        python = _own_python() if bwrap else _fallback_python(self._as_root)
        if python is None:
            return None
        uid = SANDBOX_UID if self._as_root else os.getuid()
        # RLIMIT_NPROC counts every task of the uid; only in its own user namespace (bwrap, not root) is the
        # count the run's alone. Elsewhere: the limit on top of what the uid runs already.
        already = 0 if bwrap and not self._as_root else tasks_of(uid)
        return {**spec, "python": python, "source": _child_source(), "status_fd": status_fd,
                "rlimits": limits.rlimits(already), "uid": SANDBOX_UID if bwrap and self._as_root else None,
                "gid": SANDBOX_GID, "block_network": not bwrap, "cwd": INSIDE if bwrap else None}

    def _spawn(self, spec: dict, folder: Path, tool_roots: Sequence[str], limits: SandboxLimits):
        child = [spec["python"], "-I", "-B", "-c", spec["source"], json.dumps(spec)]
        common = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE,
                  "start_new_session": True, "pass_fds": (spec["status_fd"],)}
        if self.isolation == "rlimits":  # Popen drops to the sandbox user before exec
            env = _environment(str(folder), [os.path.dirname(spec["python"])])
            return subprocess.Popen(child, cwd=folder, env=env, **common, **_user_args(self._as_root))
        bin_dirs = [os.path.dirname(spec["python"]), *(os.path.join(root, "bin") for root in tool_roots)]
        argv = sandbox_bwrap.command(child, as_root=self._as_root, folder=str(folder), tool_roots=tool_roots,
                                     env=_environment(INSIDE, bin_dirs), scratch_bytes=limits.file_mb * MB,
                                     private=self._private)
        return subprocess.Popen(argv, cwd="/", env={}, **common)

    def _watch(self, process: subprocess.Popen, stdin: str, limits: SandboxLimits,
               cancel: threading.Event | None, on_start: Callable[[], None] | None, started: float,
               status_fd: int) -> RunResult:
        """Pump the pipes until the child ends or must be killed; then kill its whole group and reap it."""
        capture = Capture(process, stdin.encode("utf-8"), limits.output_bytes, limits.output_bytes * FLOOD_FACTOR)
        deadline = started + limits.wall_s
        reason = None
        try:
            if on_start is not None:
                on_start()
            while not has_exited(process.pid):
                reason = _stop_reason(cancel, deadline, capture)
                if reason:
                    break
                capture.pump(POLL_S)
        finally:  # also when on_start or the caller's thread raises: nothing outlives the run
            kill_group(process.pid)
            capture.drain()
            process.wait()
            wait_group_gone(process.pid)
        status = _read_status(status_fd)
        killed = reason or _limit_hit(status, limits)
        exit_code = None if killed else _exit_code(status, process.returncode)
        out, err, truncated = capture.text()
        return RunResult(exit_code, out, err, killed in ("wall time", "cpu time"), killed, truncated,
                         time.monotonic() - started, self.isolation)


def _stop_reason(cancel: threading.Event | None, deadline: float, capture: Capture) -> str | None:
    if cancel is not None and cancel.is_set():
        return "cancelled"
    if capture.flooded:
        return "output"
    if time.monotonic() >= deadline:
        return "wall time"
    return None


def _read_status(fd: int) -> dict:
    """The supervisor's and the runner's JSON lines; the last line saying how the program ended wins (the
    supervisor writes it after the program's end, and the program could write to the pipe it inherited)."""
    status: dict = {}
    for line in _read_available(fd).decode("utf-8", errors="replace").splitlines():
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if not isinstance(report, dict):
            continue
        report = {key: value for key, value in report.items() if isinstance(value, STATUS_TYPES.get(key, ()))}
        if "exit" in report or "signal" in report:
            status = {key: value for key, value in status.items() if key not in ("exit", "signal", "cpu")}
        status.update(report)
    return status


def _read_available(fd: int) -> bytes:
    os.set_blocking(fd, False)  # a process left holding the pipe must not hang us
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk


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
