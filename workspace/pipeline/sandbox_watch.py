"""Watching a sandboxed child: its pipes and its process group.

Capture feeds stdin and reads stdout/stderr through one selector, so a child printing 100 MB never blocks on
a full pipe while we block on another; each stream is kept up to a cap, the excess counted (to tell
truncation and floods) and dropped. The process helpers tell its end without reaping it, kill its whole
group, wait until none of the group still runs, and count a user's tasks (for the process limit)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

CHUNK = 65536
DRAIN_S = 2.0  # after the kill, how long to wait for the pipes' end (a process outside the group may hold them)
GONE_S = 2.0  # after the kill, how long to wait for the group's killed members to be reaped


class Capture:
    def __init__(self, process: subprocess.Popen, stdin: bytes, keep: int, flood_bytes: int):
        self._selector = selectors.DefaultSelector()
        self._streams = [process.stdout, process.stderr]
        self._kept = {stream: bytearray() for stream in self._streams}
        self._seen = dict.fromkeys(self._streams, 0)
        self._keep, self._flood_bytes = keep, flood_bytes
        self.flooded = False
        for stream in self._streams:
            os.set_blocking(stream.fileno(), False)
            self._selector.register(stream, selectors.EVENT_READ)
        self._stdin, self._input, self._written = process.stdin, stdin, 0
        if stdin:
            os.set_blocking(process.stdin.fileno(), False)
            self._selector.register(process.stdin, selectors.EVENT_WRITE)
        else:
            process.stdin.close()  # the program reads end-of-file at once

    def pump(self, timeout: float) -> None:
        """Move what is ready, waiting at most `timeout` for something to be."""
        for key, _events in self._selector.select(timeout):
            if key.fileobj is self._stdin:
                self._feed()
            else:
                self._read(key.fileobj)

    def drain(self) -> None:
        """After the kill: read what is left until every pipe ends (bounded), then close them all."""
        until = time.monotonic() + DRAIN_S
        while self._selector.get_map() and time.monotonic() < until:
            self.pump(0.05)
        for key in list(self._selector.get_map().values()):
            self._close(key.fileobj)
        self._selector.close()

    def text(self) -> tuple[str, str, bool]:
        """(stdout, stderr, truncated): the first `keep` bytes of each, decoded leniently."""
        out, err = (bytes(self._kept[stream]).decode("utf-8", errors="replace") for stream in self._streams)
        return out, err, any(seen > self._keep for seen in self._seen.values())

    def _read(self, stream) -> None:
        try:
            chunk = os.read(stream.fileno(), CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            self._close(stream)
            return
        kept = self._kept[stream]
        kept += chunk[: max(0, self._keep - len(kept))]
        self._seen[stream] += len(chunk)
        self.flooded = self.flooded or self._seen[stream] > self._flood_bytes

    def _feed(self) -> None:
        try:
            self._written += os.write(self._stdin.fileno(), self._input[self._written:self._written + CHUNK])
        except BlockingIOError:
            return
        except OSError:  # the program closed its stdin or ended: what it did not read is not our business
            self._written = len(self._input)
        if self._written >= len(self._input):
            self._close(self._stdin)

    def _close(self, stream) -> None:
        self._selector.unregister(stream)
        try:
            stream.close()
        except OSError:
            pass


def has_exited(pid: int) -> bool:
    # WNOWAIT: leave the child unreaped, so its pid — the process group's id — cannot be reused before the
    # group is killed.
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def kill_group(pgid: int) -> None:
    """SIGKILL the session's group: under bubblewrap that is bwrap, whose death takes its PID namespace along."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def tasks_of(uid: int) -> int:
    """How many processes and threads `uid` runs now: RLIMIT_NPROC counts them all, not only the run's."""
    count = 0
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path("/proc", entry, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            count += int(fields.get("Threads", "1").strip() or 1)
    return count


def wait_group_gone(pgid: int) -> None:
    """Wait (bounded) until no process of the killed group still runs: none outlives its run.

    Killed members reparented to init stay zombies until init reaps them; they hold nothing, so they
    do not count."""
    until = time.monotonic() + GONE_S
    while _group_alive(pgid) and time.monotonic() < until:
        time.sleep(0.01)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)  # the group id stays reserved while a member exists, so this is still ours
    except (ProcessLookupError, PermissionError):
        return False
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(pgid) and fields[0] not in "ZX":
            return True
    return False
