# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The observer's process: naming one process for good (pid + start time), finding the run that owns it, and what one
database sample reads (lock_info's statement) and records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

from ansible_collections.nodeops.chainlink.plugins.module_utils import _lock
from ansible_collections.nodeops.chainlink.plugins.module_utils._daemon import alive, find_owner, process_start_time
from ansible_collections.nodeops.chainlink.plugins.module_utils._observer_process import ObserverParameters, ObserverProcess, Sampler

A = "aaaaaaaa-1111-4111-8111-111111111111"
B = "bbbbbbbb-2222-4222-8222-222222222222"


def test_start_time_names_a_process_and_a_reused_pid_is_not_alive() -> None:
    started = process_start_time(os.getpid())
    assert started is not None and started.isdigit()
    assert alive(os.getpid(), started)
    assert not alive(os.getpid(), str(int(started) + 1))  # same pid, another process (pid reuse)
    assert not alive(0, None)
    assert process_start_time(2**22 + 12345) is None


def test_a_finished_process_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = process_start_time(child.pid)
    child.wait()
    assert not alive(child.pid, started)


def test_an_ended_process_not_yet_reaped_is_not_alive() -> None:
    """A zombie (its parent has not waited for it yet) has ended: a guard or observer waiting for it ends too."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    started = process_start_time(child.pid)
    assert started is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.05)
    try:
        assert process_start_time(child.pid) is None
        assert not alive(child.pid, started)
    finally:
        child.wait()


def test_owner_is_the_outermost_ansible_playbook_above() -> None:
    # A process whose command line names ansible-playbook, with a child that also does (like its forked workers).
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', 'ansible-playbook']); time.sleep(30)"
    outer = subprocess.Popen([sys.executable, "-c", code, "ansible-playbook"])
    try:
        deadline = time.monotonic() + 10
        inner = None
        while inner is None and time.monotonic() < deadline:
            children = Path(f"/proc/{outer.pid}/task/{outer.pid}/children").read_text().split()
            inner = int(children[0]) if children else None
            time.sleep(0.05)
        assert inner is not None
        assert find_owner(inner) == outer.pid
    finally:
        outer.kill()
        outer.wait()


# -- one database sample --------------------------------------------------------------------------------------------


class FakeClient:
    """Answers each statement with the next prepared report document and keeps what was sent."""

    def __init__(self, reports: list[dict[str, t.Any]]) -> None:
        self.reports = reports
        self.sent: list[tuple[str, dict[str, t.Any]]] = []

    def query(self, statement: str, args: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        self.sent.append((statement, args))
        return [{"report": self.reports[min(len(self.sent), len(self.reports)) - 1]}]


def observer_params(tmp_path: Path, **given: t.Any) -> ObserverParameters:
    params = {
        "name": "pair-one",
        "state": "started",
        "state_dir": str(tmp_path),
        "interval": 0.05,
        "http_interval": 0.25,
        "lease_table": "lease_lock",
        "lease_duration": None,
        "advisory_lock_id": _lock.DEFAULT_ADVISORY_LOCK_ID,
        "http_probes": {},
        "http_timeout": 0.5,
        "max_duration": 3600,
        "owner_pid": 0,
        "stop_timeout": 10,
    }
    return ObserverParameters({**params, **given})


def report(table: bool = True, lease: dict[str, t.Any] | None = None, advisory: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    return {
        "db_now": "2025-11-27T05:31:00.25+00:00",
        "db_clock": 1764221460.25,
        "lease_table_exists": table,
        "lease": lease,
        "advisory": advisory,
        "sessions": [
            {"pid": 11, "application_name": f"Chainlink 2.29.0 |App|{A}", "client_addr": "127.0.0.1", "backend_start": "2025-11-27T05:00:00+00:00"},
            {"pid": 12, "application_name": f"Chainlink 2.29.0 |App|{A}", "client_addr": "127.0.0.1", "backend_start": "2025-11-27T05:00:01+00:00"},
            {"pid": 13, "application_name": f"Chainlink 2.30.0-rc1 |App|{B}", "client_addr": None, "backend_start": None},
            {"pid": 14, "application_name": "psql", "client_addr": None, "backend_start": None},
        ],
        "db_version": None,
    }


def sampler(tmp_path: Path, client: FakeClient, **given: t.Any) -> Sampler:
    made = Sampler(client, observer_params(tmp_path, **given), tmp_path / "samples.jsonl", None)  # type: ignore[arg-type]
    made.out.close()
    return made


def test_sample_reads_the_lease_row_as_lock_info_does(tmp_path: Path) -> None:
    lease = {"client_id": A.upper(), "expires_at": "2025-11-27T05:31:05+00:00", "expires_epoch": 1764221465.0, "remaining_seconds": 4.75, "valid": True}
    client = FakeClient([report(lease=lease, advisory={"pid": 11, "application_name": f"Chainlink 2.29.0 |App|{A}"})])
    made = sampler(tmp_path, client, lease_table="CL.Lease_Lock", advisory_lock_id=-1)
    made.has_table = True
    record = made.sample_db()
    (statement, args), *_rest = client.sent
    assert (statement, args) == _lock.lock_statement(("cl", "lease_lock"), -1, lease=True, epochs=True)
    assert 'FROM "cl"."lease_lock" ORDER BY expires_at DESC LIMIT 1' in statement  # the latest lease, not any row
    assert args["lease_table"] == "cl.lease_lock" and (args["classid"], args["objid"]) == (0xFFFFFFFF, 0xFFFFFFFF)
    assert record["now"] == 1764221460.25
    assert record["lease"] == {"id": A, "exp": 1764221465.0}
    assert record["adv"] == [A]
    assert record["inst"] == {A: "2.29.0", B: "2.30.0-rc1"}


def test_sample_names_an_advisory_holder_without_a_chainlink_name_by_pid(tmp_path: Path) -> None:
    client = FakeClient([report(table=False, advisory={"pid": 77, "application_name": "psql"})])
    record = sampler(tmp_path, client).sample_db()
    assert record["adv"] == ["pid:77"]
    assert record["lease"] is None


def test_sample_reads_the_lease_in_the_same_sample_once_the_table_appears(tmp_path: Path) -> None:
    lease = {"client_id": B, "expires_at": "2025-11-27T05:31:05+00:00", "expires_epoch": 1764221465.5, "remaining_seconds": 5.25, "valid": True}
    client = FakeClient([report(table=True), report(table=True, lease=lease)])
    made = sampler(tmp_path, client)
    record = made.sample_db()
    assert [s for s, _a in client.sent] == [
        _lock.lock_statement("lease_lock", _lock.DEFAULT_ADVISORY_LOCK_ID, lease=False, epochs=True)[0],
        _lock.lock_statement("lease_lock", _lock.DEFAULT_ADVISORY_LOCK_ID, lease=True, epochs=True)[0],
    ]
    assert made.has_table
    assert record["lease"] == {"id": B, "exp": 1764221465.5}


# -- the process's files --------------------------------------------------------------------------------------------


def test_state_files_and_a_record_naming_no_live_process(tmp_path: Path) -> None:
    process = ObserverProcess(tmp_path, "pair-one")
    assert process.meta_path == tmp_path / "pair-one.json" and process.samples_path == tmp_path / "pair-one.samples.jsonl"
    assert process.read_meta() is None and process.read_samples() == []
    process.meta_path.write_text("[1, 2]")
    assert process.read_meta() is None  # not a record
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = process_start_time(child.pid)
    child.wait()
    process.meta_path.write_text(f'{{"pid": {child.pid}, "start_time": "{started}"}}')
    meta = process.read_meta()
    assert meta is not None and not process.running(meta) and process.wait_gone(meta, 0.1)
    assert not process.running({})


def test_samples_cut_by_a_killed_sampler_are_skipped(tmp_path: Path) -> None:
    process = ObserverProcess(tmp_path, "pair-one")
    process.samples_path.write_text('{"k": "db", "t": 1}\n{"k": "http", "t": 2}\n{"k": "ht')
    assert process.read_samples() == [{"k": "db", "t": 1}, {"k": "http", "t": 2}]


def test_terminate_sends_sigterm(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        meta = {"pid": child.pid, "start_time": process_start_time(child.pid)}
        process = ObserverProcess(tmp_path, "pair-one")
        assert process.running(meta)
        process.terminate(meta, 0.0)  # our own child stays a zombie until reaped: its answer is not the point here
        assert child.wait(timeout=10) == -signal.SIGTERM
        assert not process.running(meta)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
