# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""The observer's process: the sampler daemon lock_observer starts, and its life on the managed host.

- A process is named for good by its PID and its kernel start time (a reused PID is another process).
- The sampler is double-forked (no session leader, no controlling terminal) and reports through a pipe once it is
  connected and holds the pair's guard, or the error that stopped it.
- ``<name>.json`` in the state directory records the sampler (pid, start time, owning run, guard); the sampler writes
  ``<name>.samples.jsonl`` (format: module_utils/_observer.py) and ends on SIGTERM, when its owning run is gone, or
  after max_duration. Its database session holds the guard, so the guard ends with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import threading
import time
import traceback
import typing as t
import urllib.error
import urllib.request
from pathlib import Path

from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import lock_statement, parse_application_name, parse_table_name
from ansible_collections.nodeops.chainlink.plugins.module_utils._observer import ChangeRecorder, db_key, readiness
from ansible_collections.nodeops.chainlink.plugins.module_utils._postgres import PostgresClient, PostgresError

# First half of the guard's two-integer advisory key: 'node' in ASCII. The second half is hashtext(name).
GUARD_CLASSID = 0x6E6F6465
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
        self.guard: bool = params["guard"]
        self.max_duration: float = params["max_duration"]
        self.owner_pid: int | None = params["owner_pid"]
        self.stop_timeout: float = params["stop_timeout"]


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of a process (field 22 of /proc/PID/stat): with the PID, it names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def find_owner(pid: int) -> int | None:
    """The outermost ansible-playbook/ansible process above pid (workers are forks of it, with the same command line)."""
    owner = None
    current = pid
    for _dummy in range(64):
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            cmdline = Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            break
        if "ansible-playbook" in cmdline or "/ansible " in cmdline or cmdline.startswith("ansible "):
            owner = current
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent <= 1:
            break
        current = parent
    return owner


def alive(pid: int, start_time: str | None) -> bool:
    return pid > 0 and process_start_time(pid) is not None and (start_time is None or process_start_time(pid) == start_time)


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

    def connect(self) -> None:
        self.client.connect(read_only=True, statement_timeout=2.0)
        if self.p.guard:
            rows = self.client.query("SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS ok", (GUARD_CLASSID, self.p.name))
            if not rows[0]["ok"]:
                holder = self.client.query(
                    "SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, a.backend_start::text AS since"
                    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = %s"
                    " AND l.objid = (hashtext(%s)::bigint & 4294967295)::oid AND l.objsubid = 2 AND l.granted",
                    (GUARD_CLASSID, self.p.name),
                )
                who = ", ".join(f"pid {h['pid']} '{h['application_name']}' from {h['client_addr'] or 'local socket'} since {h['since']}" for h in holder)
                raise PostgresError(
                    f"another handover of '{self.p.name}' is in progress (its observer holds the pair's guard: {who or 'session not visible'});"
                    " wait for it to finish, or if that run is gone, end that session (pg_terminate_backend) and retry"
                )

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
                    self.connect()
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
        self.client.close()  # ends the session, which releases the guard


class ObserverProcess:
    """The sampler of one observation (named by the observation's name) and its files in the state directory."""

    def __init__(self, state_dir: Path, name: str) -> None:
        self.state_dir = state_dir
        self.name = name
        self.meta_path = state_dir / f"{name}.json"
        self.samples_path = state_dir / f"{name}.samples.jsonl"

    def read_meta(self) -> dict[str, t.Any] | None:
        """What the state file says about the sampler (pid, start_time, owner_pid, started_at, lease_duration, guard)."""
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def start(self, client: PostgresClient, params: ObserverParameters, owner_pid: int | None) -> tuple[dict[str, t.Any] | None, str]:
        """Start the sampler and record it in the state file; (its record, "") or (None, why it did not start)."""
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        owner = (owner_pid, process_start_time(owner_pid)) if owner_pid else None
        pid, message = self.spawn(client, params, owner)
        if pid is None:
            return None, message
        meta = {
            "pid": pid,
            "start_time": process_start_time(pid),
            "owner_pid": owner_pid,
            "started_at": time.time(),
            "lease_duration": params.lease_duration,
            "guard": {"classid": GUARD_CLASSID, "name": params.name} if params.guard else None,
        }
        tmp = self.meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta))
        tmp.replace(self.meta_path)
        return meta, ""

    def spawn(self, client: PostgresClient, params: ObserverParameters, owner: tuple[int, str | None] | None) -> tuple[int | None, str]:
        """Double-fork a session leader-free daemon; it reports 'ready' (connected, guard taken) or the error through a pipe."""
        read_fd, write_fd = os.pipe()
        first = os.fork()
        if first == 0:
            try:
                os.close(read_fd)
                os.setsid()
                if os.fork() != 0:
                    os._exit(0)
                self.daemon(client, params, write_fd, owner)
            finally:
                os._exit(0)
        os.close(write_fd)
        os.waitpid(first, 0)
        deadline = time.monotonic() + (client.params.get("connect_timeout") or 10) + 5
        data = b""
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            data += chunk
        os.close(read_fd)
        text = data.decode("utf-8", "replace")
        if text.startswith("ready "):
            return int(text.split()[1]), ""
        return None, client.sanitize(text.partition(" ")[2] or "the sampler exited without a word (see the system log)")

    def daemon(self, client: PostgresClient, params: ObserverParameters, write_fd: int, owner: tuple[int, str | None] | None) -> None:
        os.chdir("/")  # the module's temporary directory is removed once the task returns
        with contextlib.suppress(OSError):
            os.nice(-10)  # a measuring tool: ahead of ordinary work on a busy controller, where the permission allows it
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        for entry in os.listdir("/proc/self/fd"):
            fd = int(entry)
            if fd > 2 and fd not in (write_fd, devnull):
                with contextlib.suppress(OSError):
                    os.close(fd)
        sampler: Sampler | None = None
        try:
            sampler = Sampler(client, params, self.samples_path, owner)
            sampler.connect()
            signal.signal(signal.SIGTERM, lambda _s, _f: sampler.stop.set() if sampler else None)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C of the run reaches its process group, not us (setsid)
        except (PostgresError, OSError, ValueError) as exc:
            os.write(write_fd, f"error {exc}".encode())
            os.close(write_fd)
            return
        os.write(write_fd, f"ready {os.getpid()}".encode())
        os.close(write_fd)
        try:
            sampler.run()
        except Exception:  # the daemon has no caller left: leave the reason in the samples file
            sampler.write([{"k": "end", "t": time.time(), "reason": "error", "msg": traceback.format_exc()[-2000:]}])

    def running(self, meta: dict[str, t.Any] | None) -> bool:
        return meta is not None and alive(int(meta.get("pid") or 0), meta.get("start_time"))

    def wait_gone(self, meta: dict[str, t.Any], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.running(meta) and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.running(meta)

    def terminate(self, meta: dict[str, t.Any], timeout: float) -> bool:
        """Ask the sampler to write its last samples and end (SIGTERM); whether it ended within timeout."""
        os.kill(int(meta["pid"]), signal.SIGTERM)
        return self.wait_gone(meta, timeout)

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
