#!/usr/bin/env python3
# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The orchestration's own cost: one pair's whole upgrade.yml, run by a baseline git ref and by the working tree in
one run, on the same lab, alternating (baseline, tree, baseline, tree, ...) so that the machine's load falls on both.

For each run: a fresh pair of chainlink-sim containers on 2.28.0 (its own database, deployed by that tree's
deploy.yml), then that tree's upgrade.yml to 2.29.0 at the lab's lease settings, timed from the outside. Recorded per
run: wall seconds, the tasks Ansible ran (ok + failed in the play recap) and skipped, and from the handover's report
its outcome, steps and lease gaps, so a faster tree that proves less or hands over worse shows. The baseline is
checked out into a temporary git worktree with its own collection link; both use this checkout's virtualenv.

Issue 12's goal: at most half of the baseline's tasks and wall time for one pair, proofs and lease gaps unchanged.
Writes benchmarks/results/orchestration.json.

    .venv/bin/python benchmarks/orchestration.py [--baseline b106da9] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._lab_runs import RESULTS, recap, result_head, run_playbook  # noqa: E402
from tests.integration.handover.lab import HandoverLab, start_lab_postgres  # noqa: E402

FROM, TO = "2.28.0", "2.29.0"


def worktree(ref: str, parent: Path) -> Path:
    """The ref checked out beside this one, with the collection link its ansible.cfg expects."""
    tree = parent / f"baseline-{ref}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref], check=True, capture_output=True)
    link = tree / ".collections" / "ansible_collections" / "nodeops"
    link.mkdir(parents=True)
    (link / "chainlink").symlink_to(tree)
    return tree


def measure(label: str, tree: Path, pg: t.Any, workdir: Path, index: int) -> dict[str, t.Any]:
    lab = HandoverLab(pg, workdir / f"{label}-{index}", name=f"orch{index}{label[0]}", ports=(16880, 16881))
    try:
        lab.write_inventory(FROM)
        _, deploy = run_playbook(tree, lab.inventory, lab.workdir, "deploy.yml")
        if deploy.returncode != 0:
            raise AssertionError(f"{label}: deploy.yml failed:\n{deploy.stdout[-3000:]}")
        seconds, upgrade = run_playbook(tree, lab.inventory, lab.workdir, "upgrade.yml", "-e", f"chainlink_version={TO}")
        if upgrade.returncode != 0:
            raise AssertionError(f"{label}: upgrade.yml failed:\n{upgrade.stdout[-3000:]}")
        report = lab.latest_report("upgrade")
        return {
            "tree": label,
            "wall_seconds": round(seconds, 2),
            **recap(upgrade.stdout, lab.name),
            "outcome": report["outcome"],
            "steps": [s["phase"] for s in report["steps"]],
            "lock_gaps": report.get("lock_gaps") or report.get("lease_gaps"),
            "two_holders_seen": report["two_holders_seen"],
        }
    finally:
        lab.destroy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="b106da9", help="git ref to compare with (default: before issue 12's work)")
    parser.add_argument("--rounds", type=int, default=2, help="upgrades per tree, alternating")
    args = parser.parse_args()

    parent = Path(tempfile.mkdtemp(prefix="nodeops-orch-"))
    pg = start_lab_postgres(range(16890, 16899), "nodeops-orch-pg")
    trees = {"baseline": worktree(args.baseline, parent), "tree": ROOT}
    runs: list[dict[str, t.Any]] = []
    try:
        for index in range(args.rounds):
            for label, tree in trees.items():
                runs.append(measure(label, tree, pg, parent, index))
                print(json.dumps(runs[-1]), flush=True)
    finally:
        pg.stop()
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(trees["baseline"])], capture_output=True, check=False)
        shutil.rmtree(parent, ignore_errors=True)

    def med(label: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs if r["tree"] == label))

    result = {
        **result_head("orchestration"),
        "baseline_ref": args.baseline,
        "upgrade": f"{FROM} -> {TO}, one pair, lab lease 3s / 0.5s",
        "runs": runs,
        "median": {label: {"wall_seconds": med(label, "wall_seconds"), "tasks": med(label, "tasks")} for label in trees},
    }
    result["ratio_tree_to_baseline"] = {key: round(result["median"]["tree"][key] / result["median"]["baseline"][key], 3) for key in ("wall_seconds", "tasks")}
    result["goal"] = "tree <= 0.5 x baseline in tasks and wall time, every report ok with the same steps"
    result["goal_met"] = all(r["outcome"] == "ok" for r in runs) and all(v <= 0.5 for v in result["ratio_tree_to_baseline"].values())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "orchestration.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"median": result["median"], "ratio": result["ratio_tree_to_baseline"], "goal_met": result["goal_met"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
