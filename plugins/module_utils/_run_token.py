# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""A playbook run's own token: who holds a pair's guard, as the database shows it.

Made on the controller (plugins/action/pair_guard.py) from the run's main ansible-playbook process, named for good: the
machine, its boot, the PID and the kernel's start time of that process. Every task of the run derives the same token and
no other run can (a PID is reused only by a process with another start time), whatever carries the tasks to the
database check host: ControlPersist masters shared by several runs, reconnects, sshd's process names. Because it names
the process, the controller that made it can also tell whether that run is still alive.

The guard's session carries it in its application_name (``nodeops.chainlink pair_guard <token> <pair>``, at most 63
bytes, the token first so that it is never cut), so "held by this run" is read from pg_locks and pg_stat_activity.
"""

from __future__ import annotations

import hashlib
import re
import typing as t
from pathlib import Path

APPLICATION_PREFIX = "nodeops.chainlink pair_guard "
# r<machine:6 hex><boot:2 hex>.<pid base36>.<start time base36>
TOKEN_PATTERN = re.compile(r"^r([0-9a-f]{6})([0-9a-f]{2})\.([0-9a-z]{1,8})\.([0-9a-z]{1,13})$")
_APP_TOKEN = re.compile(r"^" + re.escape(APPLICATION_PREFIX) + r"(r[0-9a-f]{8}\.[0-9a-z]{1,8}\.[0-9a-z]{1,13})(?: |$)")


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _short_hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text:
            return text
    import socket  # noqa: PLC0415 -- only when the machine has no machine-id

    return socket.gethostname()


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def make_token(pid: int, start_time: str, machine: str, boot: str) -> str:
    """The token of the run whose main process is (pid, start_time) on that machine and boot."""
    return f"r{_short_hash(machine, 6)}{_short_hash(boot, 2)}.{_base36(pid)}.{_base36(int(start_time))}"


def parse_token(token: str) -> dict[str, str | int] | None:
    """The token's parts (machine, boot, pid, start_time), or None for a string that is no token."""
    match = TOKEN_PATTERN.match(token or "")
    if match is None:
        return None
    return {"machine": match[1], "boot": match[2], "pid": int(match[3], 36), "start_time": str(int(match[4], 36))}


def application_name(token: str, pair_name: str) -> str:
    """The guard session's application_name: the token first, then as much of the pair's name as fits in 63 bytes."""
    text = f"{APPLICATION_PREFIX}{token} {pair_name}"
    return text.encode()[:63].decode("utf-8", "ignore")


def token_of(application: str | None) -> str | None:
    """The run token a guard session's application_name carries, or None (another client, or an older collection)."""
    match = _APP_TOKEN.match(application or "")
    return match[1] if match else None


def run_state(token: str, here_machine: str, here_boot: str, start_time_of: t.Callable[[int], str | None]) -> str:
    """Whether the run that made a token is 'alive', 'ended' or 'unknown', judged on the machine calling this.

    Only the controller that made a token can judge it (another machine's run is 'unknown'); a token of an earlier boot
    of this machine names a run that has ended. start_time_of(pid) gives the kernel start time of a live process or None.
    """
    parts = parse_token(token)
    if parts is None or parts["machine"] != _short_hash(here_machine, 6):
        return "unknown"
    if parts["boot"] != _short_hash(here_boot, 2):
        return "ended"
    current = start_time_of(int(parts["pid"]))
    return "alive" if current is not None and str(current) == parts["start_time"] else "ended"
