# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""A module's background process that outlives the task: the observer's sampler and the pair's guard.

- A process is named for good by its PID and its kernel start time (a reused PID is another process).
- The daemon is double-forked (no session leader, no controlling terminal) and reports through a pipe once its worker
  is prepared (connected, lock taken), or the error that stopped it.
- ``<name>.json`` in the state directory records it (pid, start time, owning run and what the caller adds). It ends on
  SIGTERM or by its worker's own rule, typically when the run that owns it (``find_owner``) is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import threading
import time
import traceback
import typing as t
from pathlib import Path


class Worker(t.Protocol):
    """What runs in the daemon: prepare() before it reports ready (raise to report an error), then run() until stop."""

    stop: threading.Event

    def prepare(self) -> None: ...

    def run(self) -> None: ...

    def crashed(self, text: str) -> None: ...


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of a live process (field 22 of /proc/PID/stat): with the PID, it names one process for
    good. None once it has ended, a zombie included: an ansible-playbook whose parent (a shell, a test harness) has not
    reaped it yet has ended its run, and a guard or observer that waited for it must end too."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def find_owner(pid: int) -> int | None:
    """The process whose end ends a module's daemon: the outermost ansible-playbook/ansible process above pid (workers are
    forks of it, with the same command line); on a host reached over SSH, where no such process runs, the SSH
    connection's own sshd process (``sshd: user@...``, ``sshd-session: user@...`` from OpenSSH 9.8), which ends with the
    controller's connection (with ControlPersist, once that has run out). It bounds the daemon's life; it names no run."""
    return owner_in_chain(process_chain(pid))[0]


def owner_kind(pid: int | None) -> str | None:
    """'run' when pid is an ansible process, 'connection' when it is an SSH connection's sshd, else None."""
    return owner_in_chain(process_chain(pid))[1] if pid else None


def process_chain(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of pid and its ancestors, nearest first."""
    chain: list[tuple[int, str]] = []
    current = pid
    for _dummy in range(64):
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            cmdline = Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            break
        chain.append((current, cmdline))
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent <= 1:
            break
        current = parent
    return chain


def owner_in_chain(chain: list[tuple[int, str]]) -> tuple[int | None, str | None]:
    """find_owner's choice among (pid, command line) pairs, nearest first: (pid, 'run' | 'connection') or (None, None)."""
    owner = None
    connection = None
    for current, cmdline in chain:
        if "ansible-playbook" in cmdline or "/ansible " in cmdline or cmdline.startswith("ansible "):
            owner = current
        elif connection is None and re.match(r"sshd(-session)?: \S*@", cmdline):
            connection = current
    if owner is not None:
        return owner, "run"
    return (connection, "connection") if connection is not None else (None, None)


def alive(pid: int, start_time: str | None) -> bool:
    return pid > 0 and process_start_time(pid) is not None and (start_time is None or process_start_time(pid) == start_time)


def owner_of(owner_pid: int | None) -> tuple[int, str | None] | None:
    """The owning run named for good (pid, start time), or None: no owner to outlive."""
    return (owner_pid, process_start_time(owner_pid)) if owner_pid else None


class DaemonProcess:
    """One named daemon and its state file in the state directory."""

    def __init__(self, state_dir: Path, name: str) -> None:
        self.state_dir = state_dir
        self.name = name
        self.meta_path = state_dir / f"{name}.json"

    def read_meta(self) -> dict[str, t.Any] | None:
        """What the state file says about the daemon (pid, start_time, owner_pid, started_at and the caller's fields)."""
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def start(
        self, worker: t.Callable[[], Worker], owner_pid: int | None, meta: dict[str, t.Any], sanitize: t.Callable[[str], str], timeout: float, nice: int = 0
    ) -> tuple[dict[str, t.Any] | None, str]:
        """Start the daemon and record it in the state file; (its record, "") or (None, why it did not start).

        worker: builds the worker inside the daemon; timeout: how long prepare() may take; nice: the daemon's niceness
        change where allowed (a measuring tool goes ahead of ordinary work on a busy controller).
        """
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        pid, message = self.spawn(worker, sanitize, timeout, nice)
        if pid is None:
            return None, message
        record = {"pid": pid, "start_time": process_start_time(pid), "owner_pid": owner_pid, "started_at": time.time(), **meta}
        self.write_meta(record)
        return record, ""

    def write_meta(self, record: dict[str, t.Any]) -> None:
        tmp = self.meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(self.meta_path)

    def spawn(self, worker: t.Callable[[], Worker], sanitize: t.Callable[[str], str], timeout: float, nice: int) -> tuple[int | None, str]:
        """Double-fork a session leader-free daemon; it reports 'ready <pid>' or 'error <text>' through a pipe."""
        read_fd, write_fd = os.pipe()
        first = os.fork()
        if first == 0:
            try:
                os.close(read_fd)
                os.setsid()
                if os.fork() != 0:
                    os._exit(0)
                self.daemon(worker, write_fd, nice)
            finally:
                os._exit(0)
        os.close(write_fd)
        os.waitpid(first, 0)
        deadline = time.monotonic() + timeout
        data = b""
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            data += chunk
        os.close(read_fd)
        text = data.decode("utf-8", "replace")
        if text.startswith("ready "):
            return int(text.split()[1]), ""
        return None, sanitize(text.partition(" ")[2] or "the background process exited without a word (see the system log)")

    def daemon(self, build: t.Callable[[], Worker], write_fd: int, nice: int) -> None:
        os.chdir("/")  # the module's temporary directory is removed once the task returns
        if nice:
            with contextlib.suppress(OSError):
                os.nice(nice)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        for entry in os.listdir("/proc/self/fd"):
            fd = int(entry)
            if fd > 2 and fd not in (write_fd, devnull):
                with contextlib.suppress(OSError):
                    os.close(fd)
        worker: Worker | None = None
        try:
            worker = build()
            worker.prepare()
            signal.signal(signal.SIGTERM, lambda _s, _f: worker.stop.set() if worker else None)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C of the run reaches its process group, not us (setsid)
        except Exception as exc:  # any reason not to run goes back to the module through the pipe
            os.write(write_fd, f"error {exc}".encode())
            os.close(write_fd)
            return
        os.write(write_fd, f"ready {os.getpid()}".encode())
        os.close(write_fd)
        try:
            worker.run()
        except Exception:  # the daemon has no caller left: the worker keeps the reason where it can be read
            worker.crashed(traceback.format_exc()[-2000:])

    def running(self, meta: dict[str, t.Any] | None) -> bool:
        return meta is not None and alive(int(meta.get("pid") or 0), meta.get("start_time"))

    def wait_gone(self, meta: dict[str, t.Any], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.running(meta) and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.running(meta)

    def terminate(self, meta: dict[str, t.Any], timeout: float) -> bool:
        """Ask the daemon to end (SIGTERM); whether it ended within timeout."""
        os.kill(int(meta["pid"]), signal.SIGTERM)
        return self.wait_gone(meta, timeout)
