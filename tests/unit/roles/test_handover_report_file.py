# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The handover's report file name, rendered by Ansible's own templating from roles/handover/tasks/report.yml: two runs
of one pair that begin in the same second write two files."""

from __future__ import annotations

import re
import time
import typing as t
import warnings
from pathlib import Path

import yaml  # type: ignore[import-untyped]  # no stubs in the venv
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[3]


def write_task() -> dict[str, t.Any]:
    tasks = yaml.safe_load((ROOT / "roles/handover/tasks/report.yml").read_text())
    block = next(task for task in tasks if task.get("name") == "Write the report as JSON")
    return next(task for task in block["block"] if task.get("name") == "Write the report file")


def render(began_at: float) -> str:
    with warnings.catch_warnings():  # the tests' collection finder is configured already: that is the one meant
        warnings.simplefilter("ignore", UserWarning)
        init_plugin_loader()  # the lookups and filters the expression uses, as ansible-playbook loads them
    task = write_task()
    variables: dict[str, t.Any] = {
        "__handover_report_dir": "/reports",
        "handover_pair_name": "pair-one",
        "handover_action": "upgrade",
        "handover_result": {"began_at": began_at},
    }
    templar = Templar(loader=DataLoader(), variables=variables)
    for name, expression in (task.get("vars") or {}).items():
        variables[name] = templar.template(trust_as_template(expression))
    templar = Templar(loader=DataLoader(), variables=variables)
    return str(templar.template(trust_as_template(task["ansible.builtin.copy"]["dest"])))


def test_two_runs_in_the_same_second_keep_two_reports() -> None:
    first, second = render(1796543210.1), render(1796543210.9)
    assert first != second
    # both still sort by the time their run began, and the tests' glob <pair>-<action>-*.json finds them
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(1796543210))  # the strftime filter's local time
    for name in (first, second):
        assert re.fullmatch(rf"/reports/pair-one-upgrade-{stamp}-[a-z0-9]{{8}}\.json", name), name
