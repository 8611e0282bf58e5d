# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.

from __future__ import annotations


class ModuleDocFragment:
    # The base fragment: describes the attributes; the named variants below fill in their support.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled or queried by the module has not changed in a relevant way.
"""

    # Use together with the base fragment.
    IDEMPOTENT_NOT_MODIFY_STATE = r"""
options: {}
attributes:
  idempotent:
    support: full
    details:
      - This action does not modify state.
"""

    # Use together with the base fragment, for modules that only read (C(*_info), waits).
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
"""

    # Membership of the action group declared in meta/runtime.yml.
    ACTIONGROUP_CHAINLINK = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/nodeops.chainlink.chainlink) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - nodeops.chainlink.chainlink
"""
