# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""The observer's process: the sampler daemon lock_observer starts (lifecycle: module_utils/_daemon.py).

The sampler reports ready once it is connected, writes ``<name>.samples.jsonl`` in the state directory (format:
module_utils/_observer.py) and ends on SIGTERM, when its owning run is gone, or after max_duration. It guards nothing:
the pair's guard against a second run is pair_guard's (module_utils/_guard.py), held for the whole run.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import typing as t
import urllib.error
import urllib.request
from pathlib import Path

from ansible_collections.nodeops.chainlink.plugins.module_utils._daemon import DaemonProcess, alive, owner_of
from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import lock_statement, parse_application_name, parse_table_name
from ansible_collections.nodeops.chainlink.plugins.module_utils._observer import ChangeRecorder, db_key, readiness
from ansible_collections.nodeops.chainlink.plugins.module_utils._postgres import PostgresClient, PostgresError

STATS_EVERY = 1.0
LATE = 0.1


class ObserverParameters:
    """The module parameters lock_observer and its sampler use, typed."""

    def __init__(self, params: dict[str, t.Any]) -> None:
        self.name: str = params["name"]
        self.state: str = params["state"]
        self.state_dir = Path(params["state_dir"])  # type path: already expanded by AnsibleModule
        self.interval: float = params["interval"]
        self.http_interval: float = params["http_interval"]
        self.lease_table: str = params["lease_table"]
        self.lease_duration: float | None = params["lease_duration"]
        self.advisory_lock_id: int = params["advisory_lock_id"]
        self.http_probes: dict[str, str] = {str(k): str(v) for k, v in (params["http_probes"] or {}).items()}
        self.http_timeout: float = params["http_timeout"]
        self.max_duration: float = params["max_duration"]
        self.owner_pid: int | None = params["owner_pid"]
        self.stop_timeout: float = params["stop_timeout"]


class Sampler:
    """The background loop: one thread for the database, one per probed URL, all writing to one samples file."""

    def __init__(self, client: PostgresClient, params: ObserverParameters, samples_path: Path, owner: tuple[int, str | None] | None) -> None:
        self.client = client
        self.p = params
        self.samples_path = samples_path
        self.owner = owner
        self.stop = threading.Event()
        self.reason = "stopped"
        self.write_lock = threading.Lock()
        self.out: t.TextIO = samples_path.open("w", encoding="utf-8")
        # db_late: intervals above 0.1 s, the sampling rate a handover's proof needs (a loaded host may delay a few);
        # http_late: intervals above twice http_interval. http_unknown / http_rate_limited: answers that said nothing
        # about readiness, and the 429s among them (the rate limiter: the sampling exceeded the node's budget).
        self.stats: dict[str, t.Any] = {
            "db_interval": params.interval,
            "http_interval": params.http_interval,
            "db_samples": 0,
            "db_max_interval": 0.0,
            "db_late": 0,
            "http_samples": {},
            "http_max_interval": {},
            "http_late": {},
            "http_unknown": {},
            "http_rate_limited": {},
        }
        self.lease_table = parse_table_name(params.lease_table)
        self.has_table = False

    def write(self, records: list[dict[str, t.Any]]) -> None:
        if not records:
            return
        with self.write_lock:
            for rec in records:
                self.out.write(json.dumps(rec, separators=(",", ":")) + "\n")
            self.out.flush()

    # -- database ------------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Connected before the module reports the sampler started: a wrong URL fails the task, not a later sample."""
        self.client.connect(read_only=True, statement_timeout=2.0)

    def crashed(self, text: str) -> None:
        self.write([{"k": "end", "t": time.time(), "reason": "error", "msg": text}])

    def sample_db(self) -> dict[str, t.Any]:
        # lock_info's statement: the same lease row (latest expiry first), advisory holder and sessions, plus epochs.
        statement, arguments = lock_statement(self.lease_table, self.p.advisory_lock_id, lease=self.has_table, epochs=True)
        raw = self.client.query(statement, arguments)[0]["report"]
        if bool(raw["lease_table_exists"]) != self.has_table:
            self.has_table = bool(raw["lease_table_exists"])
            if self.has_table:
                return self.sample_db()  # the table just appeared: read the lease in the same sample
        inst: dict[str, str | None] = {}
        for session in raw["sessions"] or []:
            parsed = parse_application_name(session.get("application_name"))
            if parsed and parsed.app_id:
                inst[parsed.app_id] = parsed.version
        adv = []
        holder = raw["advisory"]
        if holder:
            parsed = parse_application_name(holder.get("application_name"))
            adv.append(parsed.app_id if parsed and parsed.app_id else f"pid:{holder.get('pid')}")
        row = raw["lease"]
        lease = {"id": str(row["client_id"]).lower(), "exp": float(row["expires_epoch"])} if row else None
        return {"k": "db", "t": time.time(), "now": float(raw["db_clock"]), "lease": lease, "adv": adv, "inst": inst}

    def db_loop(self) -> None:
        recorder = ChangeRecorder()
        last_error: str | None = None
        previous: float | None = None
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                if not self.client.connected:
                    self.prepare()
                rec = self.sample_db()
                last_error = None
                self.write(recorder.feed(db_key(rec), rec))
                self.stats["db_samples"] += 1
                if previous is not None:
                    self.stats["db_max_interval"] = round(max(self.stats["db_max_interval"], started - previous), 4)
                    self.stats["db_late"] += started - previous > LATE
                previous = started
            except PostgresError as exc:
                msg = str(exc)
                if msg != last_error:
                    self.write([*recorder.flush(), {"k": "err", "t": time.time(), "src": "db", "msg": msg}])
                    last_error = msg
                if exc.connection_lost:
                    self.client.close()
                    previous = None  # the outage is reported as an error, not as a sampling interval
            self.stop.wait(max(0.0, self.p.interval - (time.monotonic() - started)))
        self.write(recorder.flush())

    # -- HTTP ----------------------------------------------------------------------------------------------------

    def http_loop(self, name: str, url: str) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback probes never go through a proxy
        recorder = ChangeRecorder()
        previous: float | None = None
        self.stats["http_samples"][name] = 0
        self.stats["http_max_interval"][name] = 0.0
        self.stats["http_late"][name] = 0
        self.stats["http_unknown"][name] = 0
        self.stats["http_rate_limited"][name] = 0
        while not self.stop.is_set():
            started = time.monotonic()
            code: int | None
            try:
                with opener.open(url, timeout=self.p.http_timeout) as resp:
                    code = int(resp.status)
            except urllib.error.HTTPError as exc:
                code = int(exc.code)
            except (OSError, ValueError):
                code = None  # refused, reset or timed out: not answering
            rec = {"k": "http", "t": time.time(), "name": name, "code": code}
            self.write(recorder.feed(code, rec))
            self.stats["http_samples"][name] += 1
            self.stats["http_unknown"][name] += readiness(code) == "unknown"
            self.stats["http_rate_limited"][name] += code == 429
            if previous is not None:
                self.stats["http_max_interval"][name] = round(max(self.stats["http_max_interval"][name], started - previous), 4)
                self.stats["http_late"][name] += started - previous > 2 * self.p.http_interval
            previous = started
            # Never sooner than http_interval after the previous probe began: the rate limiter counts requests sent.
            self.stop.wait(max(0.0, self.p.http_interval - (time.monotonic() - started)))
        self.write(recorder.flush())

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def watch(self) -> None:
        deadline = time.monotonic() + self.p.max_duration
        next_stats = time.monotonic() + STATS_EVERY
        while not self.stop.is_set():
            if time.monotonic() >= deadline:
                self.reason = "max_duration"
                self.stop.set()
            elif self.owner is not None and not alive(*self.owner):
                self.reason = "owner_gone"
                self.stop.set()
            if time.monotonic() >= next_stats:
                self.write([{"k": "stats", "t": time.time(), **json.loads(json.dumps(self.stats))}])
                next_stats += STATS_EVERY
            self.stop.wait(0.2)

    def run(self) -> None:
        threads = [threading.Thread(target=self.db_loop, daemon=True)]
        threads += [threading.Thread(target=self.http_loop, args=(n, u), daemon=True) for n, u in self.p.http_probes.items()]
        for thread in threads:
            thread.start()
        self.watch()
        for thread in threads:
            thread.join(timeout=5)
        self.write([{"k": "stats", "t": time.time(), **json.loads(json.dumps(self.stats))}, {"k": "end", "t": time.time(), "reason": self.reason}])
        self.out.close()
        self.client.close()


class ObserverProcess(DaemonProcess):
    """The sampler of one observation (named by the observation's name), its state file and its samples."""

    def __init__(self, state_dir: Path, name: str) -> None:
        super().__init__(state_dir, name)
        self.samples_path = state_dir / f"{name}.samples.jsonl"

    def start_sampler(self, client: PostgresClient, params: ObserverParameters, owner_pid: int | None) -> tuple[dict[str, t.Any] | None, str]:
        """Start the sampler (connected first) and record it with the lease duration its summary needs."""
        owner = owner_of(owner_pid)
        return self.start(
            lambda: Sampler(client, params, self.samples_path, owner),
            owner_pid,
            {"lease_duration": params.lease_duration},
            client.sanitize,
            (client.params.get("connect_timeout") or 10) + 5,
            nice=-10,
        )

    def read_samples(self) -> list[dict[str, t.Any]]:
        records = []
        try:
            with self.samples_path.open(encoding="utf-8") as handle:
                for line in handle:
                    with contextlib.suppress(ValueError):
                        records.append(json.loads(line))  # a line cut by a killed sampler is skipped
        except OSError:
            return []
        return records
