# Copyright: contributors to nodeops.chainlink
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pair_guard's controller half: gives the module this run's token, and judges the tokens only this controller can."""

from __future__ import annotations

import multiprocessing
import os
import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.nodeops.chainlink.plugins.module_utils._daemon import process_start_time
from ansible_collections.nodeops.chainlink.plugins.module_utils._run_token import boot_id, machine_id, make_token, run_state


def run_pid() -> int:
    """The run's main ansible-playbook (or ansible) process: tasks run in its forked workers, templating also in it."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None and parent.pid else os.getpid()


def this_run_token() -> str:
    pid = run_pid()
    return make_token(pid, process_start_time(pid) or "0", machine_id(), boot_id())


def ended_runs(tokens: t.Iterable[str]) -> list[str]:
    """The tokens of runs this controller made and knows to have ended (a run of another machine is never judged)."""
    here_machine, here_boot = machine_id(), boot_id()
    return [token for token in tokens if run_state(token, here_machine, here_boot, process_start_time) == "ended"]


class ActionModule(ActionBase):
    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        # a token of the caller's own (e.g. an ad hoc release of a run's guard) is the module's to check
        args.setdefault("run_token", this_run_token())
        outcome = self._execute_module(module_name="nodeops.chainlink.pair_guard", module_args=args, task_vars=task_vars)
        if outcome.get("failed") and args.get("state", "present") == "present" and not args.get("ended_runs"):
            # The guard is held by a run of this controller that has ended, whose daemon lingers on a database check
            # host while the SSH connection it shared with other runs lives (ControlPersist): released, then taken.
            ended = ended_runs(outcome.get("holder_tokens") or [])
            if ended:
                outcome = self._execute_module(module_name="nodeops.chainlink.pair_guard", module_args={**args, "ended_runs": ended}, task_vars=task_vars)
        result.update(outcome)
        return result
