# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: no compatibility promise; used by lock_observer, the handover role and its tests.
"""Pure logic of the handover observer: which samples to keep, and what they mean.

The sampler (plugins/module_utils/_observer_process.py, started by lock_observer) writes one JSON record per line:

* ``{"k": "db", "t": <wall>, "now": <db clock>, "lease": {"id": <client_id>, "exp": <expires_at>} | null,
  "adv": [<app id or "pid:N">...], "inst": {<app id>: <version>}}``: one database sample (all times are
  epoch seconds; ``now`` and ``exp`` come from the database clock, the clock the lease itself uses).
* ``{"k": "http", "t": <wall>, "name": <instance>, "code": <status or null>}``: one /readyz probe. 200 is up; no
  answer (null) or 503 (the node's "not ready") is down; any other status (429 from the node's rate limiter above
  all) says nothing about readiness and is "unknown": it neither opens nor closes a service gap.
* ``{"k": "err", "t": <wall>, "src": "db"|<instance>, "msg": <text>}``: a failed database sample.
* ``{"k": "stats", ...}`` (sampling counts, the largest interval, the intervals asked, unknown and 429 answers per
  instance) and ``{"k": "end", "reason": ...}``.

Only changes are written (run-length), but always with the last sample of the previous state, so both ends of
every state are known to the sampling interval. Everything here is a pure function of those records.

The HTTP sampling budget (``node_rate_limit``, ``http_budget``) lives here too: the real node answers /readyz behind
its authenticated rate limiter (``WebServer.RateLimit.Authenticated`` requests per ``AuthenticatedPeriod`` per client
address, default 1000 per 1m, then 429), so the observer and the handover's health gate share at most a third of it.
"""

from __future__ import annotations

import math
import re
import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import app_id_matches
from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import parse_duration

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


def lease_in_use(records: list[Record]) -> bool:
    """Whether any sample saw a valid lease; if none did, the pair runs 1.x advisorylock mode and the advisory lock decides."""
    return any(lease_holder(r) for r in records if r.get("k") == "db")


def db_timeline(records: list[Record]) -> list[dict[str, t.Any]]:
    """Segments of constant (holder, advisory holder), in database time.

    The holder is the lease holder, or in a run that never saw a valid lease (1.x advisorylock mode) the advisory holder.
    """
    segments: list[dict[str, t.Any]] = []
    by_lease = lease_in_use(records)
    for rec in records:
        if rec.get("k") != "db":
            continue
        adv = _advisory_holder(rec)
        holder = lease_holder(rec) if by_lease else adv
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


def advisory_transitions(records: list[Record]) -> list[dict[str, t.Any]]:
    """Every change of advisory holder A -> B (1.x advisorylock and dual modes), with the gap between them.

    pg_locks shows only the holder (a standby retries pg_try_advisory_lock every ADVISORY_LOCK_CHECK_INTERVAL and never
    waits inside PostgreSQL), and the key cannot be held twice, so the gap is measured between the last sample that
    showed A and the first that showed B: an upper bound (``exact: false``), tight to the sampling interval. A let go
    either by ending its session (``session_ended``: the node exited, gracefully or not) or by unlocking while its
    sessions were still open (``unlocked``: the graceful path, pg_advisory_unlock before the pool closes).
    """
    dbs = [r for r in records if r.get("k") == "db"]
    out: list[dict[str, t.Any]] = []
    prev: str | None = None
    prev_last: Record | None = None
    prev_end: float | None = None  # the first sample that showed the key free after A
    for rec in dbs:
        holder = _advisory_holder(rec)
        if holder is None:
            if prev is not None and prev_end is None:
                prev_end = float(rec["now"])
            continue
        if holder == prev or prev is None or prev_last is None:
            prev, prev_last, prev_end = holder, rec, None
            continue
        old = prev
        still_connected = any(app_id_matches(old, seen) for seen in rec.get("inst") or {})
        if prev_end is None:
            still_connected = still_connected or any(app_id_matches(old, seen) for seen in prev_last.get("inst") or {})
        out.append(
            {
                "lock": "advisory",
                "from": old,
                "to": holder,
                "from_version": (prev_last.get("inst") or {}).get(old),
                "to_version": (rec.get("inst") or {}).get(holder),
                "released": "unlocked" if still_connected else "session_ended",
                "released_at": prev_end,
                "acquired_at": None,
                "first_seen_at": float(rec["now"]),
                "lease_gap": round(max(float(rec["now"]) - float(prev_last["now"]), 0.0), 3),
                "exact": False,
                "overlap": False,
                "old_alive_after_takeover": False,
            }
        )
        prev, prev_last, prev_end = holder, rec, None
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


def readiness(code: int | None) -> str:
    """What one /readyz answer says: V(up) (200), V(down) (no answer, or the node's 503 "not ready"), else V(unknown).

    A 429 (the node's rate limiter), a redirect, a 404 or a proxy's error page come from something that answers but
    do not say whether the node is ready, so they must not open a service gap (nor close one).
    """
    if code == 200:
        return "up"
    if code is None or code == 503:
        return "down"
    return "unknown"


def http_intervals(records: list[Record]) -> dict[str, list[tuple[float, float]]]:
    """Per instance, the intervals (first seen up, last seen up) during which /readyz answered 200.

    Unknown answers (see ``readiness``) are skipped: an up interval goes on through them until a "down" answer.
    """
    out: dict[str, list[tuple[float, float]]] = {}
    state: dict[str, tuple[float, float] | None] = {}
    for rec in records:
        if rec.get("k") != "http":
            continue
        name, ts, seen = str(rec["name"]), float(rec["t"]), readiness(rec.get("code"))
        out.setdefault(name, [])
        if seen == "unknown":
            continue
        up = seen == "up"
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


def unknown_spans(records: list[Record]) -> dict[str, list[dict[str, t.Any]]]:
    """Per instance, the spans of consecutive unknown answers (first and last seen, in wall time) and their codes."""
    out: dict[str, list[dict[str, t.Any]]] = {}
    current: dict[str, dict[str, t.Any] | None] = {}
    for rec in records:
        if rec.get("k") != "http":
            continue
        name, ts, code = str(rec["name"]), float(rec["t"]), rec.get("code")
        span = current.get(name)
        if readiness(code) != "unknown":
            current[name] = None
            continue
        if span is None:
            span = current[name] = {"from": ts, "to": ts, "codes": []}
            out.setdefault(name, []).append(span)
        span["to"] = ts
        if code not in span["codes"]:
            span["codes"].append(code)
    for spans in out.values():
        for span in spans:
            span["seconds"] = round(span["to"] - span["from"], 3)
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
        "unknown": unknown_spans(records),
    }


def summarize(records: list[Record], lease_duration: float | None) -> dict[str, t.Any]:
    """Everything a handover report needs from one observation."""
    by_lease = lease_in_use(records)
    lease_trs = [{"lock": "lease", **tr} for tr in lease_transitions(records, lease_duration)]
    advisory_trs = advisory_transitions(records)
    # the lock that decides who is active: the lease when the pair uses one (lease, dual, 2.x), else the advisory lock
    transitions = lease_trs if by_lease else advisory_trs
    service = service_summary(records)
    stats = next((r for r in reversed(records) if r.get("k") == "stats"), {})
    end = next((r for r in reversed(records) if r.get("k") == "end"), None)
    errors = [r for r in records if r.get("k") == "err"]
    two_leases = any(tr["overlap"] or tr["old_alive_after_takeover"] for tr in transitions)
    return {
        "transitions": transitions,
        "lock": (["lease"] if lease_trs else []) + (["advisory"] if advisory_trs else []),
        "lock_gaps": [tr["lease_gap"] for tr in transitions],
        "lease_gaps": [tr["lease_gap"] for tr in lease_trs],
        "advisory_gaps": [tr["lease_gap"] for tr in advisory_trs],
        "timeline": db_timeline(records),
        "split_lock_seconds": split_lock_seconds(records),
        "service": service,
        "two_holders_seen": two_leases or service["two_answering_seen"],
        "errors": len(errors),
        "last_error": errors[-1]["msg"] if errors else None,
        "samples": {k: v for k, v in stats.items() if k not in ("k", "t")},
        # per instance: probes that said nothing about readiness, and how many of them were the rate limiter's 429
        "http_unknown": dict(stats.get("http_unknown") or {}),
        "http_rate_limited": dict(stats.get("http_rate_limited") or {}),
        "ended": end.get("reason") if end else None,
    }


# -- the HTTP sampling budget -------------------------------------------------------------------------------------

# The real node's defaults (core/config/docs/core.toml, [WebServer.RateLimit]; 1.x env AUTHENTICATED_RATE_LIMIT*)
DEFAULT_RATE_LIMIT = 1000
DEFAULT_RATE_PERIOD = "1m"
# The handover (observer and health gate together) may use at most 1/HANDOVER_SHARE of each instance's budget; the
# rest stays for the operator's own tools, monitoring and the container's health check, which share the limit.
HANDOVER_SHARE = 3
# Of the handover's share, the health gate gets about a quarter, but never polls faster than once a second.
GATE_PART = 4
GATE_MIN_DELAY = 1.0
# The observer never probes faster than this (the database sampling rate): a finer resolution proves nothing more.
HTTP_MIN_INTERVAL = 0.05


def node_rate_limit(config: t.Mapping[str, t.Any] | None = None, env: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
    """The authenticated rate limit an instance applies to /readyz, from what the operator configured.

    ``config`` is the TOML the collection merges into config.toml (``chainlink_config_extra``), ``env`` the extra
    environment (``chainlink_env_extra``, read by 1.x environment configuration). Unset keys take the node's defaults.
    Where both could apply (a pair that an upgrade moves from 1.x environment to TOML), the stricter one is returned.
    Returns ``{limit, period (seconds), source}``; ValueError naming the key and the fix for a value the node refuses.
    """
    web = (config or {}).get("WebServer") or {}
    rate = (web.get("RateLimit") or {}) if isinstance(web, t.Mapping) else {}
    if not isinstance(rate, t.Mapping):
        raise ValueError(f"chainlink_config_extra: WebServer.RateLimit must be a table (a dict), got {type(rate).__name__}")
    toml_limit = rate.get("Authenticated", DEFAULT_RATE_LIMIT)
    if isinstance(toml_limit, bool) or not isinstance(toml_limit, int):
        raise ValueError(f"chainlink_config_extra: WebServer.RateLimit.Authenticated must be an integer (got {toml_limit!r}); the node refuses a wrong type")
    toml_period = rate.get("AuthenticatedPeriod", DEFAULT_RATE_PERIOD)
    if not isinstance(toml_period, str):
        raise ValueError(f"chainlink_config_extra: WebServer.RateLimit.AuthenticatedPeriod must be a duration string such as '1m' (got {toml_period!r})")
    source = "config" if "Authenticated" in rate or "AuthenticatedPeriod" in rate else "default"
    candidates = [(toml_limit, toml_period, source, "WebServer.RateLimit.Authenticated", "chainlink_config_extra WebServer.RateLimit.AuthenticatedPeriod")]
    env = env or {}
    if "AUTHENTICATED_RATE_LIMIT" in env or "AUTHENTICATED_RATE_LIMIT_PERIOD" in env:
        raw = str(env.get("AUTHENTICATED_RATE_LIMIT", DEFAULT_RATE_LIMIT)).strip()
        if not re.fullmatch(r"[0-9]+", raw):
            raise ValueError(f"chainlink_env_extra: AUTHENTICATED_RATE_LIMIT must be a whole number (got '{raw}')")
        period_env = str(env.get("AUTHENTICATED_RATE_LIMIT_PERIOD", DEFAULT_RATE_PERIOD))
        candidates.append((int(raw), period_env, "env", "AUTHENTICATED_RATE_LIMIT", "chainlink_env_extra AUTHENTICATED_RATE_LIMIT_PERIOD"))
    out: dict[str, t.Any] | None = None
    for limit, period_text, source, key, period_name in candidates:
        period = parse_duration(period_text, period_name)  # RuleError (a ValueError) naming the setting and the fix
        if limit < 1 or period <= 0:
            raise ValueError(
                f"{key}: {limit} requests per '{period_text}' leaves no request for /readyz (the node answers 429 to all);"
                f" set at least {HANDOVER_SHARE * 6} requests per a period above 0"
            )
        if out is None or limit / period < out["limit"] / out["period"]:
            out = {"limit": limit, "period": period, "source": source}
    if out is None:  # unreachable: the TOML candidate always exists
        raise ValueError("no rate limit")
    return out


def _ceil_ms(seconds: float) -> float:
    return math.ceil(seconds * 1000 - 1e-6) / 1000


def http_budget(limit: int, period: float, boot_timeout: float = 300.0) -> dict[str, t.Any]:
    """How often the handover may probe an instance's /readyz within ``limit`` requests per ``period`` seconds.

    The observer and the health gate together send at most a third of the limit in any window of ``period`` seconds,
    however long the run: each poller sends at most floor(period / its interval) + 1 requests in such a window (the
    + 1 for a request on each edge), and those sums are kept within ``limit // 3``. The health gate gets about a
    quarter of that (at most one probe a second), the observer the rest; the observer's interval is the resolution of
    the measured service gaps. ValueError when the limit is too small to leave the handover four requests a period.
    """
    if isinstance(limit, bool) or int(limit) != limit or limit < 1 or period <= 0:
        raise ValueError(f"the rate limit must be a positive number of requests per a period above 0 (got {limit} per {period} s)")
    share = int(limit) // HANDOVER_SHARE
    usable = share - 2  # one request of slack per poller for the window's edges
    if usable < 4:
        raise ValueError(
            f"the nodes' rate limit ({limit} requests per {period:g} s, WebServer.RateLimit.Authenticated / AuthenticatedPeriod) leaves the"
            f" handover only {share} requests a period (its third): raise Authenticated to at least {HANDOVER_SHARE * 6} per period"
        )
    gate_delay = _ceil_ms(max(GATE_MIN_DELAY, period / max(1, usable // GATE_PART)))
    gate_requests = math.floor(period / gate_delay)
    observer_requests = usable - gate_requests
    observer_interval = _ceil_ms(max(HTTP_MIN_INTERVAL, period / observer_requests))
    return {
        "limit": int(limit),
        "period": float(period),
        "handover_requests": share,
        "observer_interval": observer_interval,
        "observer_requests": math.floor(period / observer_interval) + 1,
        "gate_delay": gate_delay,
        "gate_requests": gate_requests + 1,
        "gate_retries": max(1, math.ceil(float(boot_timeout) / gate_delay)),
    }
