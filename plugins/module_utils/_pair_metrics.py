# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins and the monitor role's exporter (which ships a copy of this file).
"""What the pair exporter (roles/monitor) publishes for one pair, computed from lock_info's report.

Pure functions only (standard library, _lock and _identify): the exporter image carries these files unchanged, so a
metric is never computed differently from what lock_info, status.yml and the handover read. The inventory's instance
names come from _identify.identify, with the one signal an exporter has besides the database: whether the instance's
HTTP port answers (only the lock holder serves HTTP; a waiting standby has no listener).
"""

from __future__ import annotations

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._identify import identify
from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import app_id_matches

UNKNOWN_INSTANCE = "unknown"  # a connected Chainlink instance that none of the pair's inventory instances is known to be


def instance_names(report: t.Mapping[str, t.Any], http_answers: t.Mapping[str, bool | None]) -> dict[str, str]:
    """App ID (as in report['instances']) -> inventory instance name, for the instances identify() can name.

    http_answers: inventory instance name -> whether its HTTP port answered (None: not probed). The exporter cannot see
    containers, so every instance counts as running; an instance that is down answers nothing and connects to nothing.
    """
    seen = {name: {"running": True, "log_app_id": None, "http_answers": answers} for name, answers in http_answers.items()}
    found = identify(seen, report)
    names: dict[str, str] = {}
    for instance in report.get("instances") or []:
        app_id = instance.get("app_id")
        name = next((n for n, ident in found.items() if ident["app_id"] and app_id_matches(ident["app_id"], app_id)), None)
        if app_id and name:
            names[app_id] = name
    return names


def pair_values(report: t.Mapping[str, t.Any], http_answers: t.Mapping[str, bool | None]) -> dict[str, t.Any]:
    """The values of one pair's series, from build_report's result (lock_info's report) and the HTTP probes.

    lock_held: a valid lease, or (1.x) the advisory lock, is held. holder: the lock holder (report['holder_app_id'],
    the same holder lock_info and status.yml name) with its version and inventory name. standby_ready: a connected
    instance other than the holder, while there is a holder. two_holders: report['consistent'] is false.
    """
    names = instance_names(report, http_answers)
    holder_id = report.get("holder_app_id")
    holder_entry = report.get("holder") or {}
    holder = None
    if holder_id:
        holder = {
            "app_id": holder_id,
            "version": holder_entry.get("version") or next((i.get("version") for i in report["instances"] if app_id_matches(holder_id, i["app_id"])), None),
            "instance": next((n for a, n in names.items() if app_id_matches(holder_id, a)), UNKNOWN_INSTANCE),
        }
    connected = [
        {
            "app_id": i["app_id"],
            "version": i.get("version"),
            "instance": names.get(i["app_id"], UNKNOWN_INSTANCE),
            "holder": bool(holder_id and app_id_matches(holder_id, i["app_id"])),
        }
        for i in report.get("instances") or []
    ]
    lease = report.get("lease") or {}
    return {
        "lock_held": bool(lease.get("valid") or (report.get("advisory") or {}).get("held")),
        "holder": holder,
        "lease_remaining_seconds": lease.get("remaining_seconds") if lease.get("exists") else None,
        "instances": connected,
        "instance_connected": {name: any(c["instance"] == name for c in connected) for name in http_answers},
        "standby_ready": bool(holder_id) and any(not c["holder"] for c in connected),
        "two_holders": not report.get("consistent", True),
        "db_version": report.get("db_version"),
        "schema_version": report.get("schema_version"),
    }


class HolderChanges:
    """Counts changes of the lock holder across reads: a holder other than the last one seen (a read without a
    holder in between does not count; the first holder seen is no change)."""

    def __init__(self) -> None:
        self.count = 0
        self.last: str | None = None

    def update(self, holder_app_id: str | None) -> bool:
        if not holder_app_id:
            return False
        changed = self.last is not None and not app_id_matches(self.last, holder_app_id) and not app_id_matches(holder_app_id, self.last)
        self.last = holder_app_id
        self.count += changed
        return changed
