# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() in this process with given arguments and get back the result Ansible would receive."""

from __future__ import annotations

import contextlib
import json
import typing as t
from unittest import mock

from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils import basic
from ansible.module_utils.common import json as module_json
from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args


def run_module(main: t.Callable[[], None], args: dict[str, t.Any]) -> dict[str, t.Any]:
    """Call main() with args (use '_ansible_check_mode': True for check mode); return the result dict.

    The result is taken at the point where AnsibleModule prints it, i.e. after it has removed no_log values, so tests
    see exactly what a playbook would. The result carries 'failed': True when the module called fail_json.
    """
    captured: dict[str, t.Any] = {}

    def record(_module: basic.AnsibleModule, result: dict[str, t.Any]) -> None:
        # Through the same encoder as the real module output, so warnings etc. arrive as a playbook gets them.
        encoder = module_json.get_module_encoder(basic._ANSIBLE_PROFILE or "legacy", module_json.Direction.MODULE_TO_CONTROLLER)
        captured.update(json.loads(json.dumps(result, cls=encoder)))

    # Warnings and deprecations are process-wide in ansible-core: start each run with none.
    warnings._global_warnings.clear()
    warnings._global_deprecations.clear()
    # exit_json/fail_json end with sys.exit(): the result has been captured by then.
    # Module code must not think it runs on the controller (true once any test imported controller code): warnings
    # would go to the display instead of into the result.
    with (
        patch_module_args(args),
        mock.patch.object(basic.AnsibleModule, "_record_module_result", record),
        mock.patch.object(module_utils_internal, "is_controller", False),
        contextlib.suppress(SystemExit),
    ):
        main()
    if not captured:
        raise RuntimeError("the module returned without calling exit_json or fail_json")
    return captured


def warning_messages(result: t.Mapping[str, t.Any]) -> list[str]:
    """The texts of a result's warnings (ansible-core 2.19 returns them as WarningSummary objects, older ones as strings)."""
    messages = []
    for warning in result.get("warnings", []):
        messages.append(warning["event"]["msg"] if isinstance(warning, dict) else str(warning))
    return messages
