# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers shared by the integration tests: a real PostgreSQL in a container, Docker clean-up."""
