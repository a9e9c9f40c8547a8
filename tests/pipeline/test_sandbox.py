"""The sandbox contains what generated code may do — under bubblewrap and under the rlimits fallback alike.

Every test runs under both isolations. The bubblewrap variant fails (never skips) where `bwrap` is missing:
scripts/test.sh installs it. Limits are set small where a test waits for one; no duration is asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from textwrap import dedent

import pytest

from workspace.pipeline.sandbox import SANDBOX_UID, RunResult, Sandbox, SandboxLimits

REPO = Path(__file__).resolve().parents[2]
QUICK = SandboxLimits(wall_s=1.0)


@pytest.fixture(params=["bubblewrap", "rlimits"])
def isolation(request) -> str:
    if request.param == "bubblewrap":
        assert shutil.which("bwrap"), "bubblewrap is missing: apt-get install bubblewrap (scripts/test.sh does)"
    return request.param


@pytest.fixture
def open_tmp():
    """A folder under the system temp that the sandbox user may enter (pytest's tmp_path is 0700 root's)."""
    folder = Path(tempfile.mkdtemp(prefix="sandbox-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def sandbox(isolation, open_tmp) -> Sandbox:
    (open_tmp / "work").mkdir(mode=0o755)
    return make_sandbox(isolation, open_tmp)


def make_sandbox(isolation: str, open_tmp: Path, **options) -> Sandbox:
    use_bwrap = None if isolation == "bubblewrap" else False
    box = Sandbox(use_bwrap=use_bwrap, temp_root=str(open_tmp / "work"), **options)
    assert box.isolation == isolation  # auto-detection finds bubblewrap here; False forces the fallback
    return box


def sandbox_processes() -> set[int]:
    """Pids of the sandbox user's processes, zombies included (they too count against its process limit)."""
    found = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path("/proc", entry, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [str(SANDBOX_UID)]:
            found.add(int(entry))
    return found


def wait_until_no_new_sandbox_processes(before: set[int]) -> set[int]:
    """State, not a sleep: returns at once when none are left; the bound only stops a failing test."""
    until = time.monotonic() + 15
    while (left := sandbox_processes() - before) and time.monotonic() < until:
        time.sleep(0.05)
    return left


def my_zombies() -> list[int]:
    zombies = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat[0] == "Z" and int(stat[1]) == os.getpid():
            zombies.append(int(entry))
    return zombies


def assert_clean(result: RunResult, isolation: str) -> None:
    assert result.isolation == isolation
    assert not my_zombies()


# ---- the normal cases ------------------------------------------------------------------------------------------


def test_stdout_stderr_stdin_and_exit_code(sandbox, isolation):
    code = "import sys\nprint('got', sys.stdin.read())\nprint('warning', file=sys.stderr)\nsys.exit(3)"
    result = sandbox.run_python(code, stdin="some input")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "got some input\n", "warning\n")
    assert not result.ok and result.killed is None and not result.timed_out and not result.truncated
    assert_clean(result, isolation)


def test_hello_world_is_ok_and_an_exception_shows_the_programs_traceback(sandbox):
    assert sandbox.run_python("print('hello, world')").ok
    failed = sandbox.run_python("def f():\n    raise ValueError('boom')\nf()\n")
    assert failed.exit_code == 1 and failed.killed is None
    assert 'File "main.py", line 2, in f' in failed.stderr and "ValueError: boom" in failed.stderr
    assert "runpy" not in failed.stderr  # the runner's own frames are left out
    syntax = sandbox.run_python("def broken(:\n")
    assert syntax.exit_code == 1 and 'File "main.py", line 1' in syntax.stderr and "SyntaxError" in syntax.stderr
    assert "runpy" not in syntax.stderr


def test_a_signal_ending_the_program_is_its_exit_code_not_a_kill(sandbox):
    result = sandbox.run_python("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n")
    assert (result.exit_code, result.killed, result.ok) == (-15, None, False)


def test_files_are_beside_main_and_importable(sandbox):
    files = {"helper.py": "VALUE = 41\n", "data/input.txt": "from a file"}
    result = sandbox.run_python("import helper\nprint(helper.VALUE + 1, open('data/input.txt').read())", files=files)
    assert result.ok and result.stdout == "42 from a file\n"


def test_asyncio_and_multiprocessing_work_and_no_privilege_can_be_gained(sandbox):
    code = dedent("""
        import asyncio, multiprocessing
        async def answer():
            return 42
        with multiprocessing.Pool(2) as pool:
            print(asyncio.run(answer()), pool.map(abs, [-1, -2]))
        print(open('/proc/self/status').read().split('NoNewPrivs:')[1].split()[0])
    """)
    result = sandbox.run_python(code)
    assert result.ok, result.stderr
    assert result.stdout == "42 [1, 2]\n1\n"


def test_file_names_must_stay_inside_the_folder(sandbox):
    for name in ("../escape.py", "/etc/evil", "", "main.py"):
        with pytest.raises(ValueError):
            sandbox.run_python("pass", files={name: "x"})


def test_syntax_check_with_other_toolchains(sandbox):
    good, bad = {"main.sh": "echo fine\n"}, {"main.sh": "if then fi (\n"}
    assert sandbox.run_command(["bash", "-n", "main.sh"], files=good).ok
    broken = sandbox.run_command(["bash", "-n", "main.sh"], files=bad)
    assert broken.exit_code not in (0, None) and "syntax error" in broken.stderr
    if shutil.which("gcc"):
        c_good, c_bad = {"main.c": "int main(void) { return 0; }\n"}, {"main.c": "int main(void) { return }\n"}
        assert sandbox.run_command(["gcc", "-fsyntax-only", "main.c"], files=c_good).ok
        assert sandbox.run_command(["gcc", "-fsyntax-only", "main.c"], files=c_bad).exit_code not in (0, None)
    missing = sandbox.run_command(["no-such-toolchain-here", "--check", "main.x"])
    assert missing.exit_code == 127 and "not found" in missing.stderr


# ---- limits ----------------------------------------------------------------------------------------------------


def test_an_infinite_loop_is_killed_on_the_wall_limit(sandbox, isolation):
    result = sandbox.run_python("while True:\n    pass\n", limits=QUICK)
    assert (result.killed, result.timed_out, result.exit_code, result.ok) == ("wall time", True, None, False)
    assert_clean(result, isolation)


def test_the_cpu_limit_kills_a_busy_loop_keeping_what_it_printed(sandbox):
    # The CPU second is spent after the print, so the print surely happened: unbuffered, it was captured.
    code = "print('started')\nwhile True:\n    pass\n"
    result = sandbox.run_python(code, limits=SandboxLimits(wall_s=60, cpu_s=1))
    assert (result.killed, result.timed_out, result.exit_code, result.stdout) == ("cpu time", True, None, "started\n")


def test_a_memory_bomb_hits_the_memory_limit(sandbox):
    result = sandbox.run_python("hoard = []\nwhile True:\n    hoard.append(' ' * 10**6)\n")
    assert result.killed == "memory" and result.exit_code is None and not result.ok
    assert "MemoryError" in result.stderr


def test_a_fork_bomb_is_held_to_the_process_limit_and_leaves_nothing_behind(sandbox, isolation):
    before = sandbox_processes()
    code = dedent("""
        import os, time
        forked = 0
        for _ in range(500):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            forked += 1
        print(forked)
    """)
    result = sandbox.run_python(code, limits=SandboxLimits(processes=16))
    assert result.ok, result.stderr
    # Unbounded it would fork 500. The limit is set on top of what the sandbox user already runs (other runs'
    # processes, not yet reaped), which can shrink meanwhile: hence the margin.
    assert 0 < int(result.stdout) < 32
    # and the sleepers it left behind were killed with the run:
    assert not wait_until_no_new_sandbox_processes(before)
    assert_clean(result, isolation)


def test_a_shell_fork_bomb_is_contained(sandbox, isolation):
    before = sandbox_processes()
    # Each level waits for its pipeline, so the shell lives until the process limit stops the tree (or the wall).
    result = sandbox.run_command(["bash", "-c", "bomb() { bomb | bomb; }; bomb"], limits=QUICK)
    assert result.killed == "wall time" or "Resource temporarily unavailable" in result.stderr, result
    assert not wait_until_no_new_sandbox_processes(before)
    assert sandbox.run_python("print('still working')").stdout == "still working\n"
    assert_clean(result, isolation)


def test_a_100_mb_print_is_truncated_and_the_flood_killed(sandbox):
    result = sandbox.run_python("import sys\nsys.stdout.write('x' * 100_000_000)\n")
    assert result.truncated and result.killed == "output" and not result.ok
    assert result.stdout == "x" * QUICK.output_bytes


def test_output_over_the_cap_is_truncated_without_a_kill(sandbox):
    result = sandbox.run_python("print('é' * 50_000)\nimport sys\nprint('done', file=sys.stderr)")
    assert result.ok and result.truncated and result.stderr == "done\n"
    assert len(result.stdout.encode("utf-8", errors="replace")) <= QUICK.output_bytes + 2  # a split char → U+FFFD


# ---- isolation -------------------------------------------------------------------------------------------------


def test_no_network_beyond_or_on_loopback(sandbox):
    with socket.socket() as listener:  # the app and Ollama listen on loopback: the sandbox must not reach them
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        code = dedent(f"""
            import socket
            for address in [('203.0.113.1', 80), ('127.0.0.1', {port})]:
                try:
                    socket.create_connection(address, timeout=5)
                    print('connected')
                except OSError as error:
                    print('refused', type(error).__name__)
        """)
        result = sandbox.run_python(code)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever knocked
    assert result.ok and result.stdout.count("refused") == 2 and "connected" not in result.stdout
    # the suite's network guard (autouse fixture) stays silent: the attempt never left the child


def test_writes_outside_the_work_folder_are_refused(sandbox, tmp_path):
    targets = [f"/tmp/..{tmp_path}/escaped.txt", str(REPO / "escaped-by-sandbox.txt"), "/usr/escaped.txt"]
    code = dedent("""
        import json, sys
        for target in json.loads(sys.stdin.read()):
            try:
                open(target, 'w').write('out')
                print('wrote', target)
            except OSError as error:
                print('refused', type(error).__name__)
        open('mine.txt', 'w').write('its own folder is writable')
    """)
    result = sandbox.run_python(code, stdin=json.dumps(targets))
    assert result.ok and result.stdout.count("refused") == 3, result.stdout
    assert not any(Path(target).exists() for target in targets)


def test_a_planted_data_folder_and_home_cannot_be_read(isolation, open_tmp):
    (open_tmp / "work").mkdir(mode=0o755)
    data = open_tmp / "data"
    data.mkdir(mode=0o700)  # as the store should make it
    (data / "auth.json").write_text('{"secret": "hunter2"}')
    public = open_tmp / "public"
    public.mkdir(mode=0o755)
    (public / "notes.txt").write_text("world-readable")
    sandbox = make_sandbox(isolation, open_tmp, private_folders=[data, public])
    targets = [str(data / "auth.json"), str(Path.home() / ".bashrc"), str(public / "notes.txt")]
    code = dedent("""
        import json, sys
        for target in json.loads(sys.stdin.read()):
            try:
                print('read', open(target).read())
            except OSError as error:
                print('refused', type(error).__name__)
    """)
    result = sandbox.run_python(code, stdin=json.dumps(targets))
    lines = result.stdout.splitlines()
    assert result.ok and lines[0].startswith("refused") and lines[1].startswith("refused"), lines
    assert "hunter2" not in result.stdout + result.stderr
    # The control, and what `guarantees` says about each folder: under rlimits the file system is there and only
    # permissions hold — a folder open to others is read, and said to be; bubblewrap mounts none of it.
    if isolation == "rlimits":
        assert lines[2] == "read world-readable"
        assert f"{data}: closed to uid 65534 by its permissions" in sandbox.guarantees
        assert f"{public}: READABLE by uid 65534: its permissions let others in (make it 0700)" in sandbox.guarantees
    else:
        assert lines[2] == "refused FileNotFoundError"
        assert {f"{data}: not mounted", f"{public}: not mounted"} <= set(sandbox.guarantees)


def test_the_environment_is_scrubbed(sandbox, monkeypatch):
    monkeypatch.setenv("WORKSPACE_SECRET", "s3cret-value")
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:11434")
    result = sandbox.run_python("import json, os\nprint(json.dumps(dict(os.environ)))")
    env = json.loads(result.stdout)
    assert not [key for key in env if key.startswith(("WORKSPACE_", "OLLAMA_"))]
    assert "s3cret-value" not in result.stdout
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["HOME"] != str(Path.home())


# ---- cancel, cleanup, threads ----------------------------------------------------------------------------------


def test_cancel_from_another_thread_kills_at_once(sandbox, isolation):
    started, cancel = threading.Event(), threading.Event()
    canceller = threading.Thread(target=lambda: started.wait() and cancel.set())
    canceller.start()
    limits = SandboxLimits(wall_s=120, cpu_s=120)  # only the cancel can end this run
    result = sandbox.run_python("while True:\n    pass\n", cancel=cancel, limits=limits, on_start=started.set)
    canceller.join()
    assert (result.killed, result.timed_out, result.exit_code) == ("cancelled", False, None)
    assert_clean(result, isolation)
    assert sandbox.run_python("print(1)", cancel=cancel).killed == "cancelled"  # already set: never starts


def test_work_folders_are_removed_even_after_a_kill(sandbox, open_tmp):
    code = "import os\nos.makedirs('sub/closed')\nopen('sub/closed/f', 'w').write('x')\nos.chmod('sub', 0o500)\n"
    assert sandbox.run_python(code).ok
    assert sandbox.run_python(code + "while True:\n    pass\n", limits=QUICK).killed == "wall time"
    assert list((open_tmp / "work").iterdir()) == []


def test_a_failing_on_start_callback_leaves_nothing_running(sandbox, open_tmp):
    before = sandbox_processes()

    def broken_callback():
        raise RuntimeError("the caller broke")

    with pytest.raises(RuntimeError, match="the caller broke"):
        sandbox.run_python("import time\ntime.sleep(120)\n", on_start=broken_callback)
    assert not wait_until_no_new_sandbox_processes(before)
    assert list((open_tmp / "work").iterdir()) == []


def test_runs_from_several_threads_at_once(sandbox, isolation, open_tmp):
    results: dict[int, RunResult] = {}

    def run(index: int) -> None:
        results[index] = sandbox.run_python(f"print(sum(range({index} * 1000)))")

    threads = [threading.Thread(target=run, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {i: r.stdout for i, r in results.items()} == {i: f"{sum(range(i * 1000))}\n" for i in range(6)}
    assert all(r.ok for r in results.values())
    assert list((open_tmp / "work").iterdir()) == []
    assert not my_zombies()


def test_guarantees_name_what_holds(sandbox, isolation):
    guarantees = sandbox.guarantees
    assert guarantees and all(isinstance(line, str) and line for line in guarantees)
    text = "\n".join(guarantees)
    assert "CPU 5 s, memory 512 MB, 32 processes" in text and "wall 10 s" in text
    if isolation == "bubblewrap":
        assert "no network" in text and "not mounted" in text
    else:
        assert "audit hook" in text and "bypass" in text and "no network" not in text
