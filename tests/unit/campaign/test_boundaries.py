# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault campaign finds its step boundaries in upgrade.yml's output by task names: the roles must still have those
names, and the watcher must fire at the right header of a fresh pair's five steps, once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the venv

from tests.integration.handover import faults

ROOT = Path(__file__).resolve().parents[3]


def task_names(*files: str) -> list[str]:
    """Every task name in the files (blocks, rescues and always included), Jinja left as written."""
    names: list[str] = []

    def walk(tasks: list[dict[str, object]]) -> None:
        for task in tasks or []:
            if isinstance(task.get("name"), str):
                names.append(str(task["name"]))
            for key in ("block", "rescue", "always"):
                walk(task.get(key))  # type: ignore[arg-type]

    for name in files:
        walk(yaml.safe_load((ROOT / name).read_text()))
    return names


@pytest.mark.parametrize(
    ("key", "files"),
    [
        (faults.STEP_START_TASK, ["roles/handover/tasks/step_start.yml"]),
        (faults.STEP_HANDOVER_TASK, ["roles/handover/tasks/step_handover.yml"]),
        (faults.RECORD_TASK, ["roles/handover/tasks/step_start.yml", "roles/handover/tasks/step_handover.yml"]),
        (faults.STOP_TASK, ["roles/node/tasks/stop.yml"]),
        (faults.WAIT_STANDBY_TASK, ["roles/node/tasks/wait.yml"]),
    ],
)
def test_the_roles_still_name_the_tasks_the_watcher_keys_on(key: str, files: list[str]) -> None:
    for name in files:
        # "{{ node_wait_for }}" renders as standby in the standby's proof
        rendered = [re.sub(r"\{\{\s*node_wait_for\s*\}\}", "standby", n) for n in task_names(name)]
        assert any(n.startswith(key) for n in rendered), f"{name} has no task named '{key}...': {rendered}"


def header(task: str, role: str = "nodeops.chainlink.handover") -> str:
    return f"TASK [{role} : {task}] " + "*" * 40


# The headers of a fresh pair's upgrade in order, with the lines that matter (node role tasks under their role name)
STEPS = [
    header("Show the plan"),
    *[
        line
        for container, first, stop in (
            ("fault0-00-secondary", faults.STEP_START_TASK, None),
            (None, faults.STEP_HANDOVER_TASK, "fault0-00-primary"),
            ("fault0-00-primary", faults.STEP_START_TASK, None),
            (None, faults.STEP_HANDOVER_TASK, "fault0-00-secondary"),
            ("fault0-00-secondary", faults.STEP_START_TASK, None),
        )
        for line in (
            [header("Note when the step began"), header(first), "ok: [fault0-00]"]
            + (
                [header(f"{faults.WAIT_STANDBY_TASK}", "nodeops.chainlink.node"), "ok: [fault0-00]"]
                if container
                else [header(f"{faults.STOP_TASK} (gracefully unless node_stop_force) {stop}", "nodeops.chainlink.node"), "changed: [fault0-00]"]
            )
            + [header(faults.RECORD_TASK), "ok: [fault0-00]"]
        )
    ],
    header("Report"),
]
# where each boundary fires: (index of the step, the header's task)
EXPECTED = {
    "standby_started": (1, faults.WAIT_STANDBY_TASK),
    "active_stopping": (2, faults.STOP_TASK),
    "takeover_proven": (2, faults.RECORD_TASK),
    "old_restarted": (3, faults.RECORD_TASK),
    "hand_back": (4, faults.STOP_TASK),
}


@pytest.mark.parametrize("boundary", faults.BOUNDARIES)
def test_the_watcher_fires_once_at_its_boundary(boundary: str) -> None:
    watcher = faults.BoundaryWatcher(boundary)
    fired = [(line, watcher.starts + watcher.handovers) for line in STEPS if watcher.feed(line + "\n")]
    step, task = EXPECTED[boundary]
    assert len(fired) == 1
    assert task in fired[0][0]
    assert fired[0][1] == step


def test_an_unknown_cell_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="boundaries standby_started"):
        faults.Cell.parse("takeover/kill_active")
    with pytest.raises(ValueError, match="faults controller_kill"):
        faults.Cell.parse("hand_back/kill_everything")
