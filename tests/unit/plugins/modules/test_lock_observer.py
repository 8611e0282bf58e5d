# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""lock_observer as a whole, without a database or a sampler: check mode, the record of a started sampler, its
idempotency, and the summary of what a sampler wrote. The sampler itself: module_utils/_observer_process.py's tests."""

from __future__ import annotations

import json
import os
import typing as t
from pathlib import Path

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._observer_process import ObserverProcess
from ansible_collections.nodeops.chainlink.plugins.modules import lock_observer
from tests.support.ansible_module import run_module

URL = "postgresql://chainlink:Sup3rS3cret@127.0.0.1:5432/chainlink"
A = "aaaaaaaa-1111-4111-8111-111111111111"
B = "bbbbbbbb-2222-4222-8222-222222222222"


def args(tmp_path: Path, **given: t.Any) -> dict[str, t.Any]:
    return {"login_url": URL, "name": "pair-one", "state_dir": str(tmp_path), **given}


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[t.Any]:
    """Stands in for the daemon: records each start and names this test process as the sampler."""
    calls: list[t.Any] = []

    def spawn(process: ObserverProcess, _worker: t.Any, _sanitize: t.Any, _timeout: float, nice: int) -> tuple[int | None, str]:
        calls.append((process.name, nice))
        return os.getpid(), ""

    monkeypatch.setattr(ObserverProcess, "spawn", spawn)
    return calls


def test_start_in_check_mode_starts_nothing(tmp_path: Path, spawned: list[t.Any]) -> None:
    result = run_module(lock_observer.main, args(tmp_path, owner_pid=0, _ansible_check_mode=True))
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert spawned == []
    assert not (tmp_path / "pair-one.json").exists()


def test_start_records_the_sampler_and_a_second_start_of_the_same_run_changes_nothing(tmp_path: Path, spawned: list[t.Any]) -> None:
    owner = os.getpid()
    first = run_module(lock_observer.main, args(tmp_path, owner_pid=owner))
    assert first.get("failed") is not True, first
    assert first["changed"] is True
    assert first["pid"] == os.getpid()
    assert first["samples_file"] == str(tmp_path / "pair-one.samples.jsonl")
    meta = json.loads((tmp_path / "pair-one.json").read_text())
    assert (meta["pid"], meta["owner_pid"]) == (os.getpid(), owner) and meta["start_time"]
    again = run_module(lock_observer.main, args(tmp_path, owner_pid=owner))
    assert again["changed"] is False and again["pid"] == first["pid"]
    assert len(spawned) == 1


def test_start_failure_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ObserverProcess, "spawn", lambda *_a: (None, "connection refused"))
    result = run_module(lock_observer.main, args(tmp_path, owner_pid=0))
    assert result["failed"] is True
    assert result["msg"] == "Failed to start the observer of 'pair-one': connection refused"
    assert not (tmp_path / "pair-one.json").exists()


def test_stop_without_a_sampler_summarises_what_was_written(tmp_path: Path) -> None:
    records = [
        {"k": "db", "t": 1.0, "now": 100.0, "lease": {"id": A, "exp": 104.0}, "adv": [], "inst": {A: "2.29.0", B: "2.29.0"}},
        {"k": "db", "t": 1.5, "now": 100.5, "lease": {"id": A, "exp": 100.4}, "adv": [], "inst": {A: "2.29.0", B: "2.29.0"}},
        {"k": "db", "t": 2.0, "now": 101.0, "lease": {"id": B, "exp": 105.9}, "adv": [], "inst": {B: "2.29.0"}},
        {"k": "end", "t": 2.1, "reason": "stopped"},
    ]
    (tmp_path / "pair-one.samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = run_module(lock_observer.main, args(tmp_path, state="stopped", lease_duration=5))
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    (transition,) = result["observation"]["transitions"]
    assert (transition["from"], transition["to"], transition["released"], transition["exact"]) == (A, B, "graceful", True)
    assert transition["lease_gap"] == 0.5
    assert result["observation"]["ended"] == "stopped"
