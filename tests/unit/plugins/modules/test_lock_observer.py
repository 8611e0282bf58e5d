# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""lock_observer's process helpers: naming one process for good (pid + start time) and finding the run that owns it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ansible_collections.nodeops.chainlink.plugins.modules.lock_observer import alive, find_owner, process_start_time


def test_start_time_names_a_process_and_a_reused_pid_is_not_alive() -> None:
    started = process_start_time(os.getpid())
    assert started is not None and started.isdigit()
    assert alive(os.getpid(), started)
    assert not alive(os.getpid(), str(int(started) + 1))  # same pid, another process (pid reuse)
    assert not alive(0, None)
    assert process_start_time(2**22 + 12345) is None


def test_a_finished_process_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = process_start_time(child.pid)
    child.wait()
    assert not alive(child.pid, started)


def test_owner_is_the_outermost_ansible_playbook_above() -> None:
    # A process whose command line names ansible-playbook, with a child that also does (like its forked workers).
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', 'ansible-playbook']); time.sleep(30)"
    outer = subprocess.Popen([sys.executable, "-c", code, "ansible-playbook"])
    try:
        deadline = time.monotonic() + 10
        inner = None
        while inner is None and time.monotonic() < deadline:
            children = Path(f"/proc/{outer.pid}/task/{outer.pid}/children").read_text().split()
            inner = int(children[0]) if children else None
            time.sleep(0.05)
        assert inner is not None
        assert find_owner(inner) == outer.pid
    finally:
        outer.kill()
        outer.wait()
