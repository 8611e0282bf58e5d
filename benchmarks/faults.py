#!/usr/bin/env python3
# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault campaign (issue 13): every step boundary of one pair's upgrade.yml 2.28.0 -> 2.29.0 x every fault, each
cell on a fresh pair, checked from outside the collection (tests/integration/handover/faults.py says how).

Writes benchmarks/results/faults.json (cells merged by id, so a subset re-run replaces only its cells) and the matrix
table in docs/faults.md (between its matrix markers), and prints the table. Exit status 1 when a cell run now failed.

    .venv/bin/python benchmarks/faults.py                       # all 25 cells, 2 at a time
    .venv/bin/python benchmarks/faults.py --cells hand_back/kill_active,old_restarted/controller_kill --jobs 1
    .venv/bin/python benchmarks/faults.py --from-results        # only redraw the table from the JSON

Containers: fault<slot>-<nn>-primary/-secondary (HTTP 18000-18019) and fault-pg-<port> (18020-18029), all removed at
the end; each cell is bounded (a run 450 s, a standby fault's wait 60 s).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._lab_runs import RESULTS, result_head  # noqa: E402
from tests.integration.handover.faults import BOUNDARIES, FAULTS, Cell, all_cells, run_cells  # noqa: E402

RESULT_FILE = RESULTS / "faults.json"
DOC = ROOT / "docs" / "faults.md"
BEGIN, END = "<!-- matrix:begin (benchmarks/faults.py writes this part) -->", "<!-- matrix:end -->"
MARK = {"ok": "ok", "recovered": "recovered", "failed": "**FAILED**", "not_injected": "not injected"}


def matrix(cells: dict[str, dict[str, t.Any]]) -> str:
    """Boundaries x faults: outcome, re-runs and the cell's seconds; then one line per cell that did not pass."""
    lines = ["| boundary \\ fault | " + " | ".join(FAULTS) + " |", "|---|" + "---|" * len(FAULTS)]
    for boundary in BOUNDARIES:
        row = []
        for fault in FAULTS:
            cell = cells.get(f"{boundary}/{fault}")
            if cell is None:
                row.append("not run")
                continue
            row.append(f"{MARK.get(cell['outcome'], cell['outcome'])} ({cell.get('reruns', '?')} re-run, {cell.get('seconds', '?')} s)")
        lines.append(f"| {boundary} | " + " | ".join(row) + " |")
    counts: dict[str, int] = {}
    for cell in cells.values():
        counts[cell["outcome"]] = counts.get(cell["outcome"], 0) + 1
    lines += ["", "Cells: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) + f" of {len(BOUNDARIES) * len(FAULTS)}."]
    notes = [c for c in (cells.get(x.id) for x in all_cells()) if c and c["outcome"] != "ok"]
    if notes:
        lines += ["", "| cell | what happened |", "|---|---|"]
        for cell in notes:
            lines.append(f"| {cell['cell']} | {describe(cell)} |")
    return "\n".join(lines)


def describe(cell: dict[str, t.Any]) -> str:
    """One table line: the injection, each run's end and report, and the problems."""
    parts = [f"fault: {(cell.get('injection') or {}).get('did', '?')} at {(cell.get('injection') or {}).get('at_s', '?')} s"]
    for n, run in enumerate(cell.get("runs") or [], 1):
        report = run.get("report") or {}
        end = "killed" if run.get("killed") else f"exit {run.get('rc')}"
        text = f"run {n}: {end}, report {report.get('outcome', 'none')}"
        if report.get("failure"):
            text += f" ({report['failure'][:300]})"
        if run.get("not_proven"):
            text += f"; not proven: {run['not_proven']}"
        parts.append(text)
    if cell.get("problems"):
        parts.append("problems: " + "; ".join(cell["problems"]))
    return "; ".join(parts).replace("|", "/").replace("\n", " ")


def write_doc(table: str) -> None:
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC} lacks the matrix markers {BEGIN} ... {END}")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cells", default="all", help=f"'all' or boundary/fault,... (boundaries: {', '.join(BOUNDARIES)}; faults: {', '.join(FAULTS)})")
    parser.add_argument("--jobs", type=int, default=2, help="cells at a time, each on its own PostgreSQL and ports (1-10)")
    parser.add_argument("--from-results", action="store_true", help="redraw the table from the recorded JSON only")
    parser.add_argument("--budget-minutes", type=float, help="start no cell after this many minutes (the running ones finish)")
    args = parser.parse_args()
    recorded = json.loads(RESULT_FILE.read_text()) if RESULT_FILE.exists() else {"cells": {}}
    if args.from_results:
        table = matrix(recorded["cells"])
        write_doc(table)
        print(table)
        return 0
    try:
        cells = all_cells() if args.cells == "all" else [Cell.parse(x.strip()) for x in args.cells.split(",") if x.strip()]
    except ValueError as exc:
        parser.error(str(exc))
    head = result_head("faults")
    began = time.monotonic()

    lock = threading.Lock()
    recorded.update({k: v for k, v in head.items() if k != "date"}, updated=head["date"])
    recorded.setdefault("runs", []).append({"date": head["date"], "tree_ref": head["tree_ref"], "cells": 0, "jobs": args.jobs, "wall_s": 0.0})

    def save(result: dict[str, t.Any] | None = None) -> None:
        """Each cell is recorded as it ends, so a campaign cut short keeps what it measured."""
        with lock:
            if result is not None:
                print(f"{result['cell']}: {result['outcome']} in {result.get('seconds', '?')} s {'; '.join(result.get('problems') or [])[:400]}", flush=True)
                result.update(date=head["date"], tree_ref=head["tree_ref"])
                recorded["cells"][result["cell"]] = result
                recorded["runs"][-1]["cells"] += 1
            recorded["runs"][-1]["wall_s"] = round(time.monotonic() - began, 1)
            recorded["cells"] = {c.id: recorded["cells"][c.id] for c in all_cells() if c.id in recorded["cells"]}
            RESULTS.mkdir(parents=True, exist_ok=True)
            RESULT_FILE.write_text(json.dumps(recorded, indent=1) + "\n")
            write_doc(matrix(recorded["cells"]))

    budget = args.budget_minutes * 60 if args.budget_minutes else None
    with tempfile.TemporaryDirectory(prefix="nodeops-faults-") as tmp:
        results = run_cells(cells, Path(tmp), jobs=args.jobs, on_result=save, budget=budget)
    save()
    print(matrix(recorded["cells"]))
    print(f"{len(results)} of {len(cells)} cells, {args.jobs} at a time: {recorded['runs'][-1]['wall_s']} s")
    return 1 if len(results) < len(cells) or any(r["outcome"] in ("failed", "not_injected") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
