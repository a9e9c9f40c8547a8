"""The first code that runs inside the sandbox: drops privileges, sets the limits, supervises the program.

Never imported by the app: sandbox.py hands this file's source to `python -I -c`, followed by one JSON
argument (the spec). As the "supervisor" it drops to the sandbox user, sets the resource limits, forks the
program and reports how it ended on the status pipe — only here is a death by SIGXCPU told apart from an
exit code, since bubblewrap turns a signal into an exit code. As the "runner" (a fresh interpreter the
supervisor starts for run_python) it installs the socket-refusing audit hook when asked and runs main.py.
"""

import json
import os
import resource
import runpy
import socket
import sys
import traceback

# Refused by the runner's audit hook (rlimits isolation only): connections of any kind, name look-ups,
# starting programs (they would not inherit the hook) and looking up C functions through ctypes.
REFUSED = {
    "socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
    "socket.gethostbyaddr", "socket.getnameinfo", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn",
    "os.system", "ctypes.dlsym", "ctypes.dlsym/handle",
}


def refuse(event, args):
    """The runner's audit hook. Only AF_UNIX sockets may be made (asyncio's self-pipe, multiprocessing):
    an internet socket could listen on every interface without ever calling bind."""
    if event in REFUSED or (event == "socket.__new__" and args[1] != socket.AF_UNIX):
        raise PermissionError(f"sandbox: {event} is not allowed here")


def report(spec, **status):
    os.write(spec["status_fd"], (json.dumps(status) + "\n").encode())


def drop_privileges(spec):
    if spec.get("uid") is not None:
        os.setgroups([])
        os.setgid(spec["gid"])
        os.setuid(spec["uid"])


def no_new_privileges():
    """Setuid programs (su, passwd) gain nothing from here on: the kernel's no_new_privs bit, via prctl."""
    import ctypes

    if ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")


def set_limits(spec):
    # After the uid drop: lowering a limit needs no privilege, and the process count binds the new uid.
    for name, (soft, hard) in spec["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (soft, hard))


def start_program(spec):
    """In the forked child: become the program (never returns)."""
    try:
        if spec["mode"] == "python":
            runner = dict(spec, role="runner")
            # -u: what was printed before a kill is captured (-I ignores PYTHONUNBUFFERED)
            argv = [sys.executable, "-I", "-B", "-u", "-c", spec["source"], json.dumps(runner)]
        else:
            argv = spec["argv"]
        os.execv(argv[0], argv)
    except OSError as error:
        os.write(2, f"sandbox: cannot run {argv[0]}: {error.strerror}\n".encode())
    os._exit(127)


def supervise(spec):
    os.set_inheritable(spec["status_fd"], spec["mode"] == "python")  # the runner reports MemoryError
    pid = os.fork()
    if pid == 0:
        start_program(spec)
    _, status, usage = os.wait4(pid, 0)
    cpu = usage.ru_utime + usage.ru_stime
    if os.WIFSIGNALED(status):
        report(spec, signal=os.WTERMSIG(status), cpu=cpu)
        os._exit(128 + os.WTERMSIG(status))
    report(spec, exit=os.WEXITSTATUS(status), cpu=cpu)
    os._exit(os.WEXITSTATUS(status))


def run_main(spec):
    memory_report = (json.dumps({"memory": True}) + "\n").encode()  # made now: later memory may be short
    if spec.get("block_network"):
        sys.addaudithook(refuse)
    sys.argv = ["main.py"]
    sys.path.insert(0, os.getcwd())
    try:
        runpy.run_path("main.py", run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as error:
        if isinstance(error, MemoryError):
            os.write(spec["status_fd"], memory_report)
        tb = error.__traceback__  # show the program's frames, not this runner's (none for a SyntaxError)
        while tb is not None and tb.tb_frame.f_code.co_filename != "main.py":
            tb = tb.tb_next
        traceback.print_exception(type(error), error, tb)
        sys.exit(1)


if __name__ == "__main__":
    SPEC = json.loads(sys.argv[1])
    if SPEC.get("role") == "runner":
        run_main(SPEC)
    else:
        drop_privileges(SPEC)
        no_new_privileges()
        if SPEC.get("cwd"):
            os.chdir(SPEC["cwd"])  # as the sandbox user: the work folder is its own, closed to others
        set_limits(SPEC)
        supervise(SPEC)
