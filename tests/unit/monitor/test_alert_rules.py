# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pair alert rules under Debian's promtool: `check rules`, and `test rules` of every alert over synthetic series
(when it fires, when it must not). scripts/bootstrap.sh installs promtool (package prometheus)."""

from __future__ import annotations

import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the venv

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "roles" / "monitor" / "files" / "chainlink_pair_alerts.yml"
PAIR = "pair-one"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: ./nodeops bootstrap installs it (Debian package prometheus)")
    return found


def rules() -> dict[str, dict[str, t.Any]]:
    data = yaml.safe_load(RULES.read_text())
    return {rule["alert"]: rule for group in data["groups"] for rule in group["rules"]}


def expected(alert: str, **labels: str) -> dict[str, t.Any]:
    """The alert as Prometheus should render it for PAIR: the rule's labels and its annotations with the pair filled in."""
    rule = rules()[alert]
    annotations = {k: v.replace("{{ $labels.pair }}", PAIR) for k, v in rule["annotations"].items()}
    return {"exp_labels": {"pair": PAIR, **rule["labels"], **labels}, "exp_annotations": annotations}


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    text = ",".join(f'{k}="{v}"' for k, v in {"pair": PAIR, **labels}.items())
    return {"series": f"{name}{{{text}}}", "values": values}


# (alert, interval, input series, [(eval_time, firing?)]). Each case is a test group of its own.
CASES: list[tuple[str, str, list[dict[str, str]], list[tuple[str, bool]]]] = [
    # held, then no holder from 5s: pending at 10s, firing once 10s (the default lease) have passed
    ("ChainlinkPairNoLockHolder", "5s", [series("chainlink_pair_lock_held", "1 0 0 0 0 0")], [("10s", False), ("20s", True)]),
    # a handover's gap of one read never fires
    ("ChainlinkPairNoLockHolder", "5s", [series("chainlink_pair_lock_held", "1 0 1 1 1 1")], [("10s", False), ("20s", False)]),
    ("ChainlinkPairStandbyNotReady", "1m", [series("chainlink_pair_standby_ready", "1 0 0 0 0 0 0 0 0")], [("4m", False), ("7m", True)]),
    ("ChainlinkPairStandbyNotReady", "1m", [series("chainlink_pair_standby_ready", "1 0 0 0 1 0 0 0 0")], [("7m", False)]),
    ("ChainlinkPairTwoHolders", "15s", [series("chainlink_pair_two_holders", "0 0 1 1")], [("15s", False), ("30s", True)]),
    ("ChainlinkPairDatabaseDown", "30s", [series("chainlink_pair_database_up", "1 0 0 0 0")], [("60s", False), ("90s", True)]),
    ("ChainlinkPairDatabaseDown", "30s", [series("chainlink_pair_database_up", "1 0 1 0 1")], [("120s", False)]),
    (
        "ChainlinkPairVersionsDiffer",
        "5m",
        [
            series("chainlink_pair_instance_info", "1x8", instance="primary", app_id="a", version="2.28.0"),
            series("chainlink_pair_instance_info", "1x8", instance="secondary", app_id="b", version="2.29.0"),
        ],
        [("25m", False), ("35m", True)],
    ),
    (
        "ChainlinkPairVersionsDiffer",
        "5m",
        [
            series("chainlink_pair_instance_info", "1x8", instance="primary", app_id="a", version="2.29.0"),
            series("chainlink_pair_instance_info", "1x8", instance="secondary", app_id="b", version="2.29.0"),
        ],
        [("35m", False)],
    ),
    ("ChainlinkPairHolderFlapping", "1m", [series("chainlink_pair_holder_changes_total", "0+1x12")], [("10m", True)]),
    ("ChainlinkPairHolderFlapping", "1m", [series("chainlink_pair_holder_changes_total", "0 0 1 1 1 1 2 2 2 2 2 2")], [("10m", False)]),
]


def test_check_rules() -> None:
    run = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"SUCCESS: {len(rules())} rules found" in run.stdout


def test_every_alert_names_the_pair_and_the_next_step() -> None:
    for alert, rule in rules().items():
        summary = rule["annotations"]["summary"]
        # the pair, then after the colon what to do and where the procedure is written
        assert summary.startswith("Chainlink pair {{ $labels.pair }}") and "playbooks/" in summary and "(docs/" in summary, alert
        assert "Next" in rule["annotations"]["description"], alert
    assert {case[0] for case in CASES} == set(rules()), "every alert has a promtool case"


def test_rules_fire_when_they_should(tmp_path: Path) -> None:
    tests = []
    for alert, interval, input_series, evals in CASES:
        tests.append(
            {
                "interval": interval,
                "input_series": input_series,
                "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": [expected(alert)] if firing else []} for at, firing in evals],
            }
        )
    # the versions alert carries only the pair (count by pair)
    (tmp_path / "rules.yml").write_text(RULES.read_text())
    spec = tmp_path / "test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "5s", "tests": tests}, sort_keys=False))
    run = subprocess.run([promtool(), "test", "rules", str(spec)], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout
