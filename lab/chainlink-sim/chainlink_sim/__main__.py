# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""``python3 -m chainlink_sim`` behaves like the ``chainlink`` binary."""

from __future__ import annotations

from .cli import run

if __name__ == "__main__":
    run()
