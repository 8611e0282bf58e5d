# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make the chainlink_sim package importable for its unit tests (it lives in lab/, outside the collection)."""

from __future__ import annotations

import sys

from tests.support.sim import SIM_DIR

if str(SIM_DIR) not in sys.path:
    sys.path.insert(0, str(SIM_DIR))
