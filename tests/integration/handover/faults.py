# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault campaign of issue 13: one pair's ``upgrade.yml`` 2.28.0 -> 2.29.0, one fault injected at one step boundary
per cell, everything checked from outside the collection.

A cell: a fresh pair (``fault<slot>-<nn>``, chainlink-sim, lease 3 s / refresh 0.5 s) deployed on 2.28.0 on its own
database, a job producer writing into the node's work queue, an independent observer, then ``upgrade.yml`` run with the
default callback while its output is read line by line. When the boundary's task header appears, the fault is injected
at once. If the run was killed, failed, or left the pair unproven, ``upgrade.yml`` runs once more (the one re-run).

Boundaries (the plan of a fresh pair is: start_standby secondary, takeover primary -> secondary, restart_old primary,
hand_back secondary -> primary, restart_old secondary; the step is told from its first task's name):

- ``standby_started``  the secondary runs on 2.29.0 and its proof of waiting begins (start_standby, the node role's
  ``Wait for the log line proving the instance is standby``)
- ``active_stopping``  the graceful stop of the active primary begins (takeover, ``Stop the container ...``)
- ``takeover_proven``  the secondary took the lock, booted and answered /readyz 200 (takeover, ``Record the step``)
- ``old_restarted``    the old primary runs again on 2.29.0 and was proven waiting (first restart_old, ``Record the step``)
- ``hand_back``        the graceful stop of the secondary for the hand-back begins (hand_back, ``Stop the container ...``)

Faults: ``controller_kill`` (SIGKILL to ansible-playbook's process group, then run again), ``kill_active`` /
``kill_standby`` (``docker kill``: SIGKILL to the container's process), ``restart_postgres`` (``docker restart`` of the
cell's own PostgreSQL container), ``pause_standby`` (``docker pause`` for the lease duration + 1.5 s, then unpause). A
standby fault at a boundary where the standby does not run (``takeover_proven``: the old primary is stopped) waits
until the plan starts it again (at most 60 s) and says so.

Checked for every cell, from outside the collection (never its lock_observer or report as the evidence):

- never two holders: the observer reads the lease row over its own psycopg2 connection every 20 ms (database clock);
  a trigger of our own notes every job completion in the node's ``sim_job_runs``; a completion by an app ID that the
  lease row named neither in the sample before nor in the one after it is a second active node. Both instances'
  /readyz are probed every 0.5 s; 200 from both in one round is a second active node too.
- every job completed exactly once (the trigger's notes: one completion per job, claimed and completed by one node);
- the pair ends active and proven after at most one re-run: the valid lease holder is the instance that booted with
  that app ID, runs 2.29.0 and answers /readyz 200; the other runs 2.29.0, is connected to the database (its own
  ``Chainlink 2.29.0 |App|<id>`` session) and listens on nothing (it waits);
- the report tells what happened: every run that ended by itself wrote a report whose outcome matches its exit code,
  with a failure summary when it failed, and whose ``two_holders_seen`` agrees with the observer.

Ports: HTTP 18000-18019 (two a slot), PostgreSQL 18020-18029 (one container a slot, ``fault-pg-<port>``).
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2

from tests.integration.handover.jobs import JobProducer
from tests.integration.handover.lab import ROOT, SIM_IMAGE, VENV_BIN, HandoverLab, ansible_env, start_lab_postgres
from tests.support.observer import readyz
from tests.support.postgres import PostgresServer

OLD, NEW = "2.28.0", "2.29.0"
LEASE_SECONDS = 3.0  # HandoverLab's default lease ("3s"), refresh 0.5 s
HTTP_BASE, PG_BASE, SLOTS = 18000, 18020, 10
RUN_TIMEOUT = 450.0  # one ansible-playbook run (about 60 s on an idle machine; 270 s seen at load 60)
INJECT_WAIT = 60.0  # a standby fault waits at most this long for the standby to run
SETTLE = 15.0  # after the last run: how long the pair may take to show itself proven
OBSERVE_INTERVAL, HTTP_INTERVAL = 0.02, 0.5

BOUNDARIES = ("standby_started", "active_stopping", "takeover_proven", "old_restarted", "hand_back")
FAULTS = ("controller_kill", "kill_active", "kill_standby", "restart_postgres", "pause_standby")
# (active, standby) at each boundary of a fresh pair's plan
ROLES_AT = {
    "standby_started": ("primary", "secondary"),
    "active_stopping": ("primary", "secondary"),
    "takeover_proven": ("secondary", "primary"),
    "old_restarted": ("secondary", "primary"),
    "hand_back": ("secondary", "primary"),
}
_TASK = re.compile(r"^TASK \[(?:[\w.]+ : )?(.*)\] \**\s*$")
_APP = re.compile(r"^Chainlink (\S*) \|App\|([0-9a-f-]+)$")

AUDIT_SQL = """
CREATE TABLE IF NOT EXISTS fault_job_completions (
    job_id bigint NOT NULL, claimed_by uuid, completed_by uuid, completed_at timestamptz, noted_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE OR REPLACE FUNCTION fault_note_completion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fault_job_completions (job_id, claimed_by, completed_by, completed_at) VALUES (NEW.id, NEW.claimed_by, NEW.completed_by, NEW.completed_at);
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS fault_note_completion ON sim_job_runs;
CREATE TRIGGER fault_note_completion AFTER UPDATE OF completed_at ON sim_job_runs
    FOR EACH ROW WHEN (NEW.completed_at IS NOT NULL) EXECUTE FUNCTION fault_note_completion();
"""


@dataclasses.dataclass(frozen=True)
class Cell:
    boundary: str
    fault: str

    def __post_init__(self) -> None:
        if self.boundary not in BOUNDARIES or self.fault not in FAULTS:
            raise ValueError(f"unknown cell {self.boundary}/{self.fault}: boundaries {', '.join(BOUNDARIES)}; faults {', '.join(FAULTS)}")

    @property
    def id(self) -> str:
        return f"{self.boundary}/{self.fault}"

    @classmethod
    def parse(cls, text: str) -> Cell:
        boundary, fault = text.partition("/")[::2]
        return cls(boundary, fault)


def all_cells() -> list[Cell]:
    """Every cell, in diagonals: each run of five cells covers every boundary and every fault once, so a campaign cut
    short by its time budget still saw each of them."""
    n = len(BOUNDARIES)
    return [Cell(BOUNDARIES[i], FAULTS[(i + k) % n]) for k in range(n) for i in range(n)]


# -- boundaries from the playbook's output -------------------------------------------------------------------------


# The task names the watcher keys on (tests/unit/campaign checks that the roles still have them)
STEP_START_TASK = "Deploy the instance on the version of this step"  # handover step_start.yml, its first task
STEP_HANDOVER_TASK = "Check that the standby is known before stopping the active instance"  # step_handover.yml, first
WAIT_STANDBY_TASK = "Wait for the log line proving the instance is standby"  # node wait.yml with node_wait_for standby
STOP_TASK = "Stop the container"  # node stop.yml (the container's name follows)
RECORD_TASK = "Record the step"  # the last task of both step files, after every proof


class BoundaryWatcher:
    """Reads the default callback's lines and says when ``boundary`` is reached (once). The step is told from its first
    task: STEP_START_TASK opens a start step (the first is start_standby, later ones restart_old), STEP_HANDOVER_TASK a
    handover step (takeover, then hand_back)."""

    def __init__(self, boundary: str) -> None:
        if boundary not in BOUNDARIES:
            raise ValueError(f"unknown boundary '{boundary}' (one of {', '.join(BOUNDARIES)})")
        self.boundary = boundary
        self.phase: str | None = None
        self.starts = 0
        self.handovers = 0
        self.reached = False

    def feed(self, line: str) -> bool:
        match = _TASK.match(line.rstrip())
        if not match:
            return False
        task = match[1]
        if task.startswith(STEP_START_TASK):
            self.starts += 1
            self.phase = "start_standby" if self.starts == 1 else "restart_old"
        elif task.startswith(STEP_HANDOVER_TASK):
            self.handovers += 1
            self.phase = "takeover" if self.handovers == 1 else "hand_back"
        if self.reached or not self._at(task):
            return False
        self.reached = True
        return True

    def _at(self, task: str) -> bool:
        phase, boundary = self.phase, self.boundary
        if boundary == "standby_started":
            return phase == "start_standby" and task.startswith(WAIT_STANDBY_TASK)
        if boundary == "active_stopping":
            return phase == "takeover" and task.startswith(STOP_TASK)
        if boundary == "takeover_proven":
            return phase == "takeover" and task == RECORD_TASK
        if boundary == "old_restarted":
            return phase == "restart_old" and self.starts == 2 and task == RECORD_TASK
        return phase == "hand_back" and task.startswith(STOP_TASK)


# -- the independent observer ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LeaseSample:
    db_now: float  # clock_timestamp() of the database, epoch seconds
    holder: str | None  # lease_lock.client_id
    expires: float | None
    sessions: tuple[tuple[str, str], ...]  # (version, app ID) of every Chainlink session


class IndependentObserver:
    """Samples the lease row every 20 ms over its own connection, and both instances' /readyz every 0.5 s."""

    def __init__(self, connect: t.Callable[[], t.Any], readyz_urls: dict[str, str]) -> None:
        self._connect = connect
        self.readyz_urls = readyz_urls
        self.samples: list[LeaseSample] = []
        self.errors: list[tuple[float, str]] = []
        self.http: list[tuple[float, dict[str, int | None]]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._sample_db, daemon=True), threading.Thread(target=self._probe_http, daemon=True)]

    def __enter__(self) -> IndependentObserver:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _sample_db(self) -> None:
        conn = None
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                if conn is None or conn.closed:
                    conn = self._connect()
                with conn.cursor() as cur:
                    cur.execute(
                        "SELECT (SELECT client_id::text FROM lease_lock LIMIT 1), (SELECT extract(epoch FROM expires_at)::float8 FROM lease_lock LIMIT 1),"
                        " extract(epoch FROM clock_timestamp())::float8,"
                        " ARRAY(SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'Chainlink %|App|%')"
                    )
                    holder, expires, now, names = cur.fetchone()
                sessions = tuple(sorted({(m[1], m[2]) for m in (_APP.match(n or "") for n in names) if m}))
                self.samples.append(LeaseSample(float(now), holder, expires, sessions))
            except psycopg2.Error as exc:
                self.errors.append((time.time(), str(exc).strip()[:200]))
                with contextlib.suppress(psycopg2.Error):
                    if conn is not None:
                        conn.close()
                conn = None
                self._stop.wait(0.1)
            self._stop.wait(max(0.0, OBSERVE_INTERVAL - (time.monotonic() - began)))
        if conn is not None:
            conn.close()

    def _probe_http(self) -> None:
        while not self._stop.wait(HTTP_INTERVAL):
            self.http.append((time.time(), {role: readyz(url, 0.4) for role, url in self.readyz_urls.items()}))

    # -- what it saw

    def holder_at(self, db_time: float) -> tuple[str | None, str | None]:
        """The lease row's holder in the last sample before and the first sample after ``db_time``."""
        times = [s.db_now for s in self.samples]
        i = bisect.bisect_left(times, db_time)
        before = self.samples[i - 1].holder if i > 0 else None
        after = self.samples[i].holder if i < len(self.samples) else None
        return before, after

    def transitions(self) -> list[dict[str, t.Any]]:
        """Each change of the lease row's holder: who, when (database clock), and how the previous lease ended as seen
        (``released``: a sample showed it expired or released before the change; ``expired``: the change came after the
        last seen expiry; ``unseen_end``: the change came before the last seen expiry, with no sample in between)."""
        out: list[dict[str, t.Any]] = []
        prev: LeaseSample | None = None
        ended_seen: float | None = None  # first sample where prev's lease was no longer valid
        for sample in self.samples:
            if prev is not None and sample.holder != prev.holder:
                if ended_seen is not None:
                    how = "released_or_expired"
                elif prev.expires is not None and sample.db_now >= prev.expires:
                    how = "expired"
                else:
                    how = "unseen_end"
                out.append({"from": prev.holder, "to": sample.holder, "at": round(sample.db_now, 3), "previous_lease": how})
                ended_seen = None
            if sample.expires is not None and sample.expires <= sample.db_now and ended_seen is None:
                ended_seen = sample.db_now
            prev = sample
        return out

    def max_unheld(self) -> float:
        """The longest stretch (database clock) in which no sample saw a valid lease, between two held samples."""
        longest, since = 0.0, None
        for sample in self.samples:
            held = sample.holder is not None and sample.expires is not None and sample.expires > sample.db_now
            if held:
                if since is not None:
                    longest = max(longest, sample.db_now - since)
                since = None
            elif since is None:
                since = sample.db_now
        return round(longest, 3)

    def max_sample_gap(self) -> float:
        times = [s.db_now for s in self.samples]
        return round(max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0), 3)

    def both_serving(self) -> list[float]:
        return [at for at, codes in self.http if len(codes) > 1 and all(code == 200 for code in codes.values())]


# -- the work queue ------------------------------------------------------------------------------------------------


class SteadyProducer(JobProducer):
    """The handover tests' job producer, reconnecting after a database restart instead of ending."""

    def run(self, stop_file: Path | None = None, max_seconds: float = 900) -> None:
        deadline = time.monotonic() + max_seconds
        conn = None
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                if conn is None or conn.closed:
                    conn = self.connect()
                    conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO sim_job_runs DEFAULT VALUES RETURNING id")
                    self.ids.append(int(cur.fetchone()[0]))
            except psycopg2.Error:
                # an insert whose answer was lost may exist without its id here: only the ids known are checked
                with contextlib.suppress(psycopg2.Error):
                    if conn is not None:
                        conn.close()
                conn = None
                self._stop.wait(0.2)
            self._stop.wait(self.every)
        if conn is not None:
            conn.close()


def check_jobs_once(
    connect: t.Callable[[], t.Any], ids: list[int], observer: IndependentObserver, upgrade_began: float, timeout: float = 30
) -> tuple[dict[str, t.Any], list[str]]:
    """Every job completed exactly once, each completion by the lease holder of its moment (by the observer's samples).
    Returns the counts and the problems found; a completion by a non-holder says whether it came before
    ``upgrade_began`` (epoch seconds: then neither the playbook nor the fault caused it)."""
    problems: list[str] = []
    if not ids:
        return {"jobs": 0}, ["the producer inserted no job"]
    conn = connect()
    try:
        deadline = time.monotonic() + timeout
        with conn.cursor() as cur:
            while True:
                cur.execute("SELECT count(*) FROM sim_job_runs WHERE id = ANY(%s) AND completed_at IS NULL", (ids,))
                pending = int(cur.fetchone()[0])
                if not pending or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            cur.execute("SELECT count(*) FROM sim_job_runs WHERE id = ANY(%s)", (ids,))
            present = int(cur.fetchone()[0])
            cur.execute(
                "SELECT job_id, claimed_by::text, completed_by::text, extract(epoch FROM completed_at)::float8 FROM fault_job_completions"
                " WHERE job_id = ANY(%s) ORDER BY completed_at",
                (ids,),
            )
            completions = cur.fetchall()
    finally:
        conn.close()
    counts: dict[int, int] = {}
    outside: list[tuple[int, str, float]] = []
    for job_id, claimed_by, completed_by, at in completions:
        counts[job_id] = counts.get(job_id, 0) + 1
        if claimed_by != completed_by:
            problems.append(f"job {job_id} claimed by {claimed_by} but completed by {completed_by}")
        if completed_by not in observer.holder_at(at):
            outside.append((job_id, completed_by, at))
    twice = sorted(j for j, n in counts.items() if n > 1)
    never = len(set(ids)) - len(counts)
    if pending:
        problems.append(f"{pending} of {len(ids)} jobs were never completed")
    if present != len(set(ids)):
        problems.append(f"{len(set(ids)) - present} jobs vanished (inserted and committed, no longer in sim_job_runs)")
    elif never > pending:
        problems.append(f"{never - pending} completed jobs have no completion noted by the trigger")
    if twice:
        problems.append(f"{len(twice)} jobs completed more than once (first: {twice[0]})")
    before = [o for o in outside if o[2] < upgrade_began]
    if outside:
        job_id, by, at = outside[0]
        problems.append(
            f"two holders: {len(outside)} jobs completed by a node the lease row did not name ({len(before)} of them before upgrade.yml began;"
            f" first: job {job_id} by {by} {at - upgrade_began:+.1f} s from the start of upgrade.yml, lease row before/after: {observer.holder_at(at)})"
        )
    counts_out = {"jobs": len(set(ids)), "completions": len(completions), "twice": len(twice), "by_non_holder": len(outside)}
    return counts_out | {"by_non_holder_before_upgrade": len(before)}, problems


# -- the pair at the end ---------------------------------------------------------------------------------------------


def proven(lab: HandoverLab) -> tuple[bool, dict[str, t.Any]]:
    """Active and proven on the target: the valid lease holder booted with that app ID in a running container on 2.29.0
    that answers /readyz 200; the other runs 2.29.0, has its own session, and answers nothing (it waits)."""
    seen: dict[str, t.Any] = {}
    try:
        conn = lab.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT client_id::text FROM lease_lock WHERE expires_at > clock_timestamp()")
                row = cur.fetchone()
                cur.execute("SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name LIKE 'Chainlink %|App|%'")
                names = [r[0] for r in cur.fetchall()]
        finally:
            conn.close()
    except psycopg2.Error as exc:
        return False, {"error": str(exc).strip()[:200]}
    holder = row[0] if row else None
    sessions = {m[2]: m[1] for m in (_APP.match(n) for n in names) if m}
    seen["holder"] = holder
    roles = {role: lab.booted_app_id(role) for role in lab.containers}
    active = next((role for role, app_id in roles.items() if holder and app_id == holder and lab.running(role)), None)
    seen["active"] = active
    if active is None:
        seen["why"] = "no running instance booted with the lease holder's app ID"
        return False, seen
    other = next(role for role in lab.containers if role != active)
    others = {app_id: version for app_id, version in sessions.items() if app_id != holder}
    seen.update(
        images={role: lab.image(role) for role in lab.containers},
        readyz={role: readyz(f"http://127.0.0.1:{port}/readyz", 1.0) for role, port in lab.http_ports.items()},
        other_running=lab.running(other),
        other_sessions=others,
    )
    target = f"{SIM_IMAGE}:{NEW}"
    why = []
    if seen["images"][active] != target or sessions.get(holder) != NEW:
        why.append(f"the active {active} does not run {NEW}")
    if seen["readyz"][active] != 200:
        why.append(f"the active {active} answered /readyz {seen['readyz'][active]}")
    if not seen["other_running"] or seen["images"][other] != target:
        why.append(f"the other instance {other} does not run {NEW}")
    elif list(others.values()) != [NEW]:
        why.append(f"the other instance {other} is not seen waiting on the database (other sessions: {others or 'none'})")
    elif seen["readyz"][other] is not None:
        why.append(f"the other instance {other} answers HTTP ({seen['readyz'][other]}): it does not wait")
    if why:
        seen["why"] = "; ".join(why)
    return not why, seen


def wait_proven(lab: HandoverLab, timeout: float) -> tuple[bool, dict[str, t.Any]]:
    deadline = time.monotonic() + timeout
    while True:
        ok, seen = proven(lab)
        if ok or time.monotonic() > deadline:
            return ok, seen
        time.sleep(0.5)


# -- one run of upgrade.yml, read as it streams ----------------------------------------------------------------------


class StreamedRun:
    """``ansible-playbook upgrade.yml`` in its own process group, its output read line by line into a log file; the
    callback is called (in the reader thread) with each line."""

    def __init__(self, lab: HandoverLab, log: Path, on_line: t.Callable[[str], None] | None = None) -> None:
        cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(lab.inventory), str(ROOT / "playbooks" / "upgrade.yml"), "-e", f"chainlink_version={NEW}"]
        env = ansible_env()
        env["PYTHONUNBUFFERED"] = "1"
        self.began = time.monotonic()
        self.killed = False
        self.timed_out = False
        self.log = log
        self.proc = subprocess.Popen(
            cmd, cwd=lab.workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True
        )
        self._on_line = on_line
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None  # Popen with stdout=PIPE
        with self.log.open("w") as out:
            for line in self.proc.stdout:
                out.write(line)
                out.flush()
                if self._on_line is not None:
                    self._on_line(line)

    def kill(self) -> None:
        """SIGKILL to the whole run (the controller dies: no rescue, no report)."""
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def wait(self, timeout: float = RUN_TIMEOUT) -> int:
        try:
            rc = self.proc.wait(timeout=max(1.0, timeout - (time.monotonic() - self.began)))
        except subprocess.TimeoutExpired:
            self.timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        self.seconds = round(time.monotonic() - self.began, 1)
        return rc


def tail(path: Path, lines: int = 12) -> str:
    return "".join(path.read_text(errors="replace").splitlines(keepends=True)[-lines:]) if path.exists() else ""


# -- faults ----------------------------------------------------------------------------------------------------------


def _docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A docker command, bounded: one that outlives ``timeout`` comes back with exit status -1 and says so."""
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(["docker", *args], -1, "", f"docker {args[0]} did not answer within {timeout:.0f} s")


def _wait_running(lab: HandoverLab, role: str) -> float | None:
    """Seconds waited until ``role``'s container runs (None: it did not within INJECT_WAIT)."""
    began = time.monotonic()
    while time.monotonic() - began < INJECT_WAIT:
        if lab.running(role):
            return round(time.monotonic() - began, 1)
        time.sleep(0.1)
    return None


def inject(cell: Cell, lab: HandoverLab, run: StreamedRun, note: dict[str, t.Any]) -> None:
    """Inject the cell's fault now; what was done goes into ``note``."""
    active, standby = ROLES_AT[cell.boundary]
    note["at_s"] = round(time.monotonic() - run.began, 1)
    note["load_avg"] = round(os.getloadavg()[0], 1)
    if cell.fault == "controller_kill":
        run.kill()
        note["did"] = "SIGKILL to ansible-playbook's process group"
        return
    if cell.fault == "restart_postgres":
        # a clean restart, as an operator's: the lab image stops with SIGINT (a fast shutdown); a SIGKILL would lose
        # the last commits of the lab's server (fsync and synchronous_commit off) and blame the pair for it
        began = time.monotonic()
        out = _docker("restart", "-t", "60", lab.pg.container, timeout=120)
        try:
            lab.pg.wait_ready()
            note["did"] = f"docker restart {lab.pg.container}: accepting connections again after {time.monotonic() - began:.1f} s"
        except RuntimeError as exc:
            note["did"] = f"docker restart {lab.pg.container} (exit {out.returncode}): not ready again: {exc}"
        return
    role = active if cell.fault == "kill_active" else standby
    container = lab.containers[role]
    if not lab.running(role):
        if cell.fault == "kill_active":
            note["did"] = f"nothing: the active {role} had already stopped"
            return
        waited = _wait_running(lab, role)
        if waited is None:
            note["did"] = f"nothing: the standby {role} did not run within {INJECT_WAIT:.0f} s"
            return
        note["waited_s"] = waited
        note["at_s"] = round(time.monotonic() - run.began, 1)
    if cell.fault in ("kill_active", "kill_standby"):
        out = _docker("kill", "-s", "KILL", container)
        note["did"] = f"docker kill {container} ({role})" + ("" if out.returncode == 0 else f" failed: {out.stderr.strip()}")
        return
    out = _docker("pause", container)
    if out.returncode != 0:
        note["did"] = f"docker pause {container} failed: {out.stderr.strip()}"
        return
    time.sleep(LEASE_SECONDS + 1.5)
    unpaused = _docker("unpause", container)
    note["did"] = f"docker pause {container} ({role}) for {LEASE_SECONDS + 1.5:.1f} s, then unpause" + (
        "" if unpaused.returncode == 0 else f" (unpause: {unpaused.stderr.strip()})"
    )


# -- one cell --------------------------------------------------------------------------------------------------------


def _new_reports(lab: HandoverLab, before: set[Path]) -> list[dict[str, t.Any]]:
    files = sorted(set(lab.reports.glob(f"{lab.name}-upgrade-*.json")) - before, key=lambda p: p.stat().st_mtime) if lab.reports.exists() else []
    return [json.loads(p.read_text()) for p in files]


def _reports(lab: HandoverLab) -> set[Path]:
    return set(lab.reports.glob(f"{lab.name}-upgrade-*.json")) if lab.reports.exists() else set()


def run_cell(cell: Cell, lab: HandoverLab) -> dict[str, t.Any]:
    """Deploy, then the faulted upgrade (and at most one re-run); the cell's record with its outcome and problems."""
    began = time.monotonic()
    record: dict[str, t.Any] = {"cell": cell.id, "boundary": cell.boundary, "fault": cell.fault, "pair": lab.name}
    lab.deploy(OLD)
    lab.pg.execute(AUDIT_SQL, lab.db)
    record["deploy_s"] = round(time.monotonic() - began, 1)
    problems: list[str] = []
    runs: list[dict[str, t.Any]] = []
    note: dict[str, t.Any] = {}
    urls = {role: f"http://127.0.0.1:{port}/readyz" for role, port in lab.http_ports.items()}
    with IndependentObserver(lambda: lab.pg.connect(lab.db, connect_timeout=2), urls) as observer, SteadyProducer(lab.connect) as producer:
        time.sleep(1.0)  # some jobs before the first step
        watcher = BoundaryWatcher(cell.boundary)
        injector: list[threading.Thread] = []
        holder_box: dict[str, StreamedRun] = {}

        def on_line(line: str) -> None:
            if watcher.feed(line):
                thread = threading.Thread(target=inject, args=(cell, lab, holder_box["run"], note), daemon=True)
                injector.append(thread)
                thread.start()

        before = _reports(lab)
        upgrade_began = time.time()
        for attempt in (1, 2):
            log = lab.workdir / f"upgrade-{attempt}.log"
            run = StreamedRun(lab, log, on_line if attempt == 1 else None)
            holder_box["run"] = run
            rc = run.wait()
            for thread in injector:
                thread.join(timeout=INJECT_WAIT + 30)
            reports = _new_reports(lab, before)
            before = _reports(lab)
            entry: dict[str, t.Any] = {"rc": rc, "seconds": run.seconds, "killed": run.killed, "timed_out": run.timed_out}
            if reports:
                last = reports[-1]
                entry["report"] = {
                    "outcome": last.get("outcome"),
                    "steps": [s.get("phase") for s in last.get("steps") or []],
                    "failure": ((last.get("failure") or {}).get("summary") or "").strip() or None,
                    "next": ((last.get("failure") or {}).get("next") or "").strip() or None,
                    "versions": [last.get("versions_before"), last.get("versions_after")],
                    "two_holders_seen": last.get("two_holders_seen"),
                    "state_after": last.get("state_after_text"),
                }
            else:
                entry["tail"] = tail(log)
            runs.append(entry)
            _check_report(entry, problems, attempt)
            if run.timed_out:
                problems.append(f"run {attempt} did not end within {RUN_TIMEOUT:.0f} s")
            ok, seen = wait_proven(lab, SETTLE if rc == 0 and not run.killed else 2.0)
            entry["proven"] = ok
            _check_advice(entry, seen, lab, problems, attempt)
            # the one re-run: after a killed controller always (the fault is "kill it, then run again"), else when the
            # run failed or left the pair unproven
            if ok and rc == 0 and not run.killed:
                break
            entry["not_proven"] = seen.get("why") or seen.get("error")
            if rc == 0 and not run.killed:
                problems.append(f"run {attempt} ended 0 but the pair is not proven: {entry['not_proven']}")
        if not watcher.reached:
            note["did"] = "nothing: the first run ended before the boundary"
        time.sleep(1.0)  # jobs after the last step
    jobs, job_problems = check_jobs_once(lab.connect, producer.ids, observer, upgrade_began)
    problems += job_problems
    both = observer.both_serving()
    if both:
        problems.append(f"two holders: both instances answered /readyz 200 in {len(both)} probe rounds")
    if observer.max_sample_gap() > 1.0:
        record["observer_note"] = (
            f"the observer's 20 ms samples had a gap of {observer.max_sample_gap()} s (machine load {os.getloadavg()[0]:.0f}):"
            " a shorter two-holder episode in it could go unseen"
        )
    final_ok, final = proven(lab)
    if not final_ok:
        problems.append(f"not active and proven after {len(runs) - 1} re-run(s): {final.get('why') or final.get('error')}")
    seen_two = any((r.get("report") or {}).get("two_holders_seen") for r in runs)
    # what the runs' own observers could have seen: from the start of upgrade.yml on
    observed_two = any(at >= upgrade_began for at in both) or jobs.get("by_non_holder", 0) > jobs.get("by_non_holder_before_upgrade", 0)
    if seen_two != observed_two:
        problems.append(f"the report says two_holders_seen={seen_two}, the independent observer saw {'two' if observed_two else 'never two'}")
    record.update(
        injection=note,
        runs=runs,
        reruns=len(runs) - 1,
        final={k: final.get(k) for k in ("active", "holder", "readyz", "why") if k in final},
        lease={
            "samples": len(observer.samples),
            "sample_errors": len(observer.errors),
            "max_sample_gap_s": observer.max_sample_gap(),
            "max_unheld_s": observer.max_unheld(),
            "transitions": observer.transitions(),
        },
        http_rounds=len(observer.http),
        load_avg_at_end=round(os.getloadavg()[0], 1),
        jobs=jobs,
        problems=problems,
    )
    if not watcher.reached:
        record["outcome"] = "not_injected"
    elif problems:
        record["outcome"] = "failed"
    else:
        record["outcome"] = "ok" if len(runs) == 1 else "recovered"
    record["seconds"] = round(time.monotonic() - began, 1)
    return record


def _check_report(entry: dict[str, t.Any], problems: list[str], attempt: int) -> None:
    """A run that ended by itself must leave a report saying what happened."""
    if entry["killed"] or entry["timed_out"]:
        return
    report = entry.get("report")
    if report is None:
        problems.append(f"run {attempt} (exit {entry['rc']}) wrote no report")
        return
    if (report["outcome"] == "ok") != (entry["rc"] == 0):
        problems.append(f"run {attempt} exited {entry['rc']} but its report says {report['outcome']}")
    if report["outcome"] != "ok" and not report["failure"]:
        problems.append(f"run {attempt}'s report says {report['outcome']} without a failure summary")
    before, after = report["versions"]
    said = f"{report['failure'] or ''} {report['next'] or ''}".lower()
    if "nothing was changed" in said and after and before != after:
        problems.append(f"run {attempt}'s report says nothing was changed, but the versions went from {before} to {after}")


def _check_advice(entry: dict[str, t.Any], seen: dict[str, t.Any], lab: HandoverLab, problems: list[str], attempt: int) -> None:
    """The report's advice must not blame the instance that took over: it serves, nothing about it is broken."""
    advice = (entry.get("report") or {}).get("next") or ""
    serving = seen.get("active")
    if serving and re.search(rf"{re.escape(lab.containers[serving])}'s log .*fix its configuration", advice):
        problems.append(f"run {attempt}'s advice says to fix {serving}, which holds the lock and serves: {advice[:200]}")


# -- the campaign: cells over slots (own PostgreSQL and ports each) ----------------------------------------------------


class Slot:
    """One place a cell runs: PostgreSQL on PG_BASE + n, HTTP ports HTTP_BASE + 2n and + 2n + 1."""

    def __init__(self, number: int, workdir: Path) -> None:
        if not 0 <= number < SLOTS:
            raise ValueError(f"slot {number} is outside 0-{SLOTS - 1} (ports {HTTP_BASE}-{HTTP_BASE + 2 * SLOTS - 1}, {PG_BASE}-{PG_BASE + SLOTS - 1})")
        self.number = number
        self.workdir = workdir
        self.pg: PostgresServer | None = None

    def run(self, index: int, cell: Cell) -> dict[str, t.Any]:
        if self.pg is None:
            port = PG_BASE + self.number
            try:
                self.pg = start_lab_postgres(range(port, port + 1), "fault-pg")
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                _docker("rm", "-f", f"fault-pg-{port}")
                return {
                    "cell": cell.id,
                    "boundary": cell.boundary,
                    "fault": cell.fault,
                    "outcome": "failed",
                    "problems": [f"the cell's PostgreSQL did not start: {exc}"[:2000]],
                }
        workdir = self.workdir / f"cell{index:02d}"
        workdir.mkdir(parents=True, exist_ok=True)
        lab = HandoverLab(self.pg, workdir, name=f"fault{self.number}-{index:02d}", ports=(HTTP_BASE + 2 * self.number, HTTP_BASE + 2 * self.number + 1))
        try:
            return run_cell(cell, lab)
        except Exception as exc:  # a cell that breaks is recorded as failed, the campaign goes on
            return {
                "cell": cell.id,
                "boundary": cell.boundary,
                "fault": cell.fault,
                "pair": lab.name,
                "outcome": "failed",
                "problems": [f"{type(exc).__name__}: {exc}"[:2000]],
            }
        finally:
            _docker("unpause", *lab.containers.values())
            lab.destroy()
            with contextlib.suppress(psycopg2.Error, RuntimeError):
                self.pg.wait_ready(30)
                self.pg.drop_database(lab.db)

    def close(self) -> None:
        if self.pg is not None:
            self.pg.stop()


def run_cells(
    cells: t.Sequence[Cell],
    workdir: Path,
    jobs: int = 1,
    on_result: t.Callable[[dict[str, t.Any]], None] | None = None,
    budget: float | None = None,
    first_slot: int = 0,
) -> list[dict[str, t.Any]]:
    """Run the cells, ``jobs`` at a time, each in its own slot from ``first_slot`` on (two campaigns at once need
    slots apart); results in the order of ``cells``. No cell starts after ``budget`` seconds: those are left out."""
    began = time.monotonic()
    if not 1 <= jobs <= SLOTS - first_slot:
        raise ValueError(f"jobs must be 1-{SLOTS - first_slot} from slot {first_slot} (slots 0-{SLOTS - 1}), got {jobs}")
    slots: queue.Queue[Slot] = queue.Queue()
    made = [Slot(n, workdir / f"slot{n}") for n in range(first_slot, first_slot + jobs)]
    for slot in made:
        slots.put(slot)

    def one(index: int, cell: Cell) -> dict[str, t.Any] | None:
        slot = slots.get()
        if budget is not None and time.monotonic() - began > budget:
            slots.put(slot)
            return None
        try:
            result = slot.run(index, cell)
        finally:
            slots.put(slot)
        if on_result is not None:
            on_result(result)
        return result

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return [r for r in pool.map(one, range(len(cells)), cells) if r is not None]
    finally:
        for slot in made:
            slot.close()
