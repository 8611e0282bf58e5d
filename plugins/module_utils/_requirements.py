# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: no compatibility promise; used by python_requirements and the PostgreSQL client.
"""What a host's Python needs to run the collection's modules there: each library, the Debian/Ubuntu package that
provides it for the system Python, and who imports it (docs/targets.md). Kept to Python 3.8 syntax: the module that
reads it must be able to name an interpreter that is too old."""

from __future__ import annotations

# library -> (Debian/Ubuntu package, who needs it)
REQUIREMENTS = {
    "requests": ("python3-requests", "community.docker's modules"),
    "psycopg2": ("python3-psycopg2", "the database checks (lock_info, lock_observer, community.postgresql)"),
}
# The oldest Python the modules run on: the roles' platforms ship 3.10 (Ubuntu jammy), 3.11 (Debian bookworm), 3.12 (noble)
MIN_PYTHON = "3.10"
