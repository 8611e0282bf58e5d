# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: no compatibility promise; used by lock_observer, the handover role and its tests.
"""Pure logic of the handover observer: which samples to keep, and what they mean.

The sampler (plugins/modules/lock_observer.py) writes one JSON record per line:

* ``{"k": "db", "t": <wall>, "now": <db clock>, "lease": {"id": <client_id>, "exp": <expires_at>} | null,
  "adv": [<app id or "pid:N">...], "inst": {<app id>: <version>}}``: one database sample (all times are
  epoch seconds; ``now`` and ``exp`` come from the database clock, the clock the lease itself uses).
* ``{"k": "http", "t": <wall>, "name": <instance>, "code": <status or null>}``: one /readyz probe.
* ``{"k": "err", "t": <wall>, "src": "db"|<instance>, "msg": <text>}``: a failed database sample.
* ``{"k": "stats", ...}`` (sampling counts and the largest interval) and ``{"k": "end", "reason": ...}``.

Only changes are written (run-length), but always with the last sample of the previous state, so both ends of
every state are known to the sampling interval. Everything here is a pure function of those records.
"""

from __future__ import annotations

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import app_id_matches

Record = dict[str, t.Any]

# Tolerance when comparing database timestamps written by different transactions (float rounding).
_EPS = 0.001


class ChangeRecorder:
    """Decide which samples to write: the first, every change, and the last sample before each change.

    ``key`` is the part of a sample that defines its state; samples with an equal key are the same state.
    """

    def __init__(self) -> None:
        self._last_key: t.Any = None
        self._pending: Record | None = None
        self._started = False

    def feed(self, key: t.Any, record: Record) -> list[Record]:
        """Return the records to write now for this new sample (possibly none)."""
        if self._started and key == self._last_key:
            self._pending = record
            return []
        out = []
        if self._pending is not None:
            out.append(self._pending)
        out.append(record)
        self._started = True
        self._last_key = key
        self._pending = None
        return out

    def flush(self) -> list[Record]:
        """Return the last sample of the current state if it was not written yet."""
        out = [self._pending] if self._pending is not None else []
        self._pending = None
        return out


def db_key(record: Record) -> tuple[t.Any, ...]:
    """The state of a database sample: the lease row, its validity, the advisory holders and the instances."""
    lease = record.get("lease")
    lease_key = (lease["id"], round(float(lease["exp"]), 6), lease_valid(record)) if lease is not None else None
    inst = tuple(sorted((record.get("inst") or {}).items()))
    return (lease_key, tuple(sorted(record.get("adv") or [])), inst)


def lease_valid(record: Record) -> bool:
    """A lease is held while ``expires_at`` is still ahead of the database clock (the node frees it only once now() > expires_at)."""
    lease = record.get("lease")
    return lease is not None and float(lease["exp"]) >= float(record["now"])


def lease_holder(record: Record) -> str | None:
    lease = record.get("lease")
    return str(lease["id"]) if lease and lease_valid(record) else None


def _advisory_holder(record: Record) -> str | None:
    adv = record.get("adv") or []
    return str(adv[0]) if adv else None


def db_timeline(records: list[Record]) -> list[dict[str, t.Any]]:
    """Segments of constant (lease holder, advisory holder), in database time."""
    segments: list[dict[str, t.Any]] = []
    for rec in records:
        if rec.get("k") != "db":
            continue
        holder, adv = lease_holder(rec), _advisory_holder(rec)
        now = float(rec["now"])
        inst = rec.get("inst") or {}
        if segments and segments[-1]["holder"] == holder and segments[-1]["advisory"] == adv:
            segments[-1]["to"] = now
            continue
        segments.append({"holder": holder, "advisory": adv, "version": inst.get(holder) if holder else None, "from": now, "to": now})
    for seg in segments:
        seg["seconds"] = round(seg["to"] - seg["from"], 3)
    return segments


def lease_transitions(records: list[Record], lease_duration: float | None) -> list[dict[str, t.Any]]:
    """Every change of lease holder A -> B, with the lease gap and how A let go.

    The exact acquisition time of B is its first ``expires_at`` minus the lease duration (the node writes
    ``now() + duration``; refreshes only push it further, so the smallest value seen is the acquisition, provided
    the sampler saw B before its first refresh, which sampling faster than the refresh interval guarantees).
    A's end is the ``expires_at`` its row showed once no longer valid (moved back to now() by a graceful release,
    or left in place when A died). When the release was not caught between two samples, the gap is an upper
    bound (``exact: false``).
    """
    dbs = [r for r in records if r.get("k") == "db"]
    out: list[dict[str, t.Any]] = []
    prev: str | None = None  # the last valid holder
    prev_last_valid: Record | None = None
    prev_end: float | None = None  # A's row seen invalid: its final expires_at
    i = 0
    while i < len(dbs):
        rec = dbs[i]
        holder = lease_holder(rec)
        lease = rec.get("lease")
        if holder is None:
            if prev is not None and lease and lease["id"] == prev and prev_end is None:
                prev_end = float(lease["exp"])
            i += 1
            continue
        if holder == prev:
            # Still (or again, after a missed refresh no one exploited) the same holder.
            prev_last_valid, prev_end = rec, None
            i += 1
            continue
        if prev is None or prev_last_valid is None:
            # The first holder of the run: nothing was handed over.
            prev, prev_last_valid, prev_end = holder, rec, None
            i += 1
            continue
        # A new holder B: collect its first segment to find the smallest expires_at.
        b_first = rec
        b_min_exp = float(rec["lease"]["exp"])
        j = i
        while j < len(dbs) and lease_holder(dbs[j]) == holder:
            b_min_exp = min(b_min_exp, float(dbs[j]["lease"]["exp"]))
            j += 1
        a_last_exp = float(prev_last_valid["lease"]["exp"])
        a_last_now = float(prev_last_valid["now"])
        b_acq = b_min_exp - lease_duration if lease_duration else None
        if prev_end is not None:
            released = "graceful" if prev_end < a_last_exp - _EPS else "expired"
        elif b_acq is not None:
            released = "graceful" if b_acq < a_last_exp - _EPS else "expired"
        else:
            released = "unknown"
        end = prev_end
        if b_acq is not None and end is not None:
            gap, exact = b_acq - end, True
        elif b_acq is not None:
            gap, exact = b_acq - a_last_now, False
        else:
            gap, exact = float(b_first["now"]) - (end if end is not None else a_last_now), False
        # A split brain the lease cannot prevent: A never let go (its lease ran out) but is still connected
        # after B took over, so it may still be working (a frozen or partitioned node).
        a_alive_after = [
            float(d["now"])
            for d in dbs[i:]
            if any(app_id_matches(prev, seen) for seen in d.get("inst") or {}) and float(d["now"]) >= (b_acq if b_acq is not None else float(b_first["now"]))
        ]
        out.append(
            {
                "from": prev,
                "to": holder,
                "from_version": (prev_last_valid.get("inst") or {}).get(prev),
                "to_version": (b_first.get("inst") or {}).get(holder),
                "released": released,
                "released_at": end,
                "acquired_at": b_acq,
                "first_seen_at": float(b_first["now"]),
                "lease_gap": round(max(gap, 0.0), 3),
                "exact": exact,
                "overlap": gap < -_EPS,
                "old_alive_after_takeover": released != "graceful" and bool(a_alive_after),
            }
        )
        prev, prev_last_valid, prev_end = holder, rec, None
        i += 1
    return out


def split_lock_seconds(records: list[Record]) -> float:
    """Time during which the lease and the advisory lock (1.x dual mode) were held by different instances.

    In dual mode a new holder takes the lease first and the advisory lock once the old backend lets it go, so a
    short split during a handover is expected; it is reported, not judged.
    """
    total = 0.0
    dbs = [r for r in records if r.get("k") == "db"]
    for cur, nxt in zip(dbs, dbs[1:], strict=False):
        holder, adv = lease_holder(cur), _advisory_holder(cur)
        if holder and adv and adv != holder:
            total += float(nxt["now"]) - float(cur["now"])
    return round(total, 3)


def http_intervals(records: list[Record]) -> dict[str, list[tuple[float, float]]]:
    """Per instance, the intervals (first seen up, last seen up) during which /readyz answered 200."""
    out: dict[str, list[tuple[float, float]]] = {}
    state: dict[str, tuple[float, float] | None] = {}
    for rec in records:
        if rec.get("k") != "http":
            continue
        name, ts, up = str(rec["name"]), float(rec["t"]), rec.get("code") == 200
        out.setdefault(name, [])
        cur = state.get(name)
        if up:
            state[name] = (cur[0], ts) if cur else (ts, ts)
        elif cur:
            out[name].append(cur)
            state[name] = None
    for name, cur in state.items():
        if cur:
            out[name].append(cur)
    return out


def service_summary(records: list[Record]) -> dict[str, t.Any]:
    """Service gaps (no instance answering 200, after the first answer) and instances answering at the same time."""
    per_name = http_intervals(records)
    spans = sorted((s, e, name) for name, ivs in per_name.items() for s, e in ivs)
    gaps: list[dict[str, t.Any]] = []
    overlaps: list[dict[str, t.Any]] = []
    cover_end: float | None = None
    cover_name: str | None = None
    for start, end, name in spans:
        if cover_end is not None and start > cover_end:
            gaps.append({"from": cover_end, "to": start, "before": cover_name, "after": name, "seconds": round(start - cover_end, 3)})
        elif cover_end is not None and cover_name != name and start <= cover_end:
            overlaps.append({"from": start, "to": min(end, cover_end), "instances": sorted({name, str(cover_name)})})
        if cover_end is None or end > cover_end:
            cover_end, cover_name = end, name
    return {
        "up": {name: [{"from": s, "to": e, "seconds": round(e - s, 3)} for s, e in ivs] for name, ivs in per_name.items()},
        "gaps": gaps,
        "max_gap": max((g["seconds"] for g in gaps), default=0.0),
        "two_answering_seen": bool(overlaps),
        "overlaps": overlaps,
    }


def summarize(records: list[Record], lease_duration: float | None) -> dict[str, t.Any]:
    """Everything a handover report needs from one observation."""
    transitions = lease_transitions(records, lease_duration)
    service = service_summary(records)
    stats = next((r for r in reversed(records) if r.get("k") == "stats"), {})
    end = next((r for r in reversed(records) if r.get("k") == "end"), None)
    errors = [r for r in records if r.get("k") == "err"]
    two_leases = any(tr["overlap"] or tr["old_alive_after_takeover"] for tr in transitions)
    return {
        "transitions": transitions,
        "lease_gaps": [tr["lease_gap"] for tr in transitions],
        "timeline": db_timeline(records),
        "split_lock_seconds": split_lock_seconds(records),
        "service": service,
        "two_holders_seen": two_leases or service["two_answering_seen"],
        "errors": len(errors),
        "last_error": errors[-1]["msg"] if errors else None,
        "samples": {k: v for k, v in stats.items() if k not in ("k", "t")},
        "ended": end.get("reason") if end else None,
    }
