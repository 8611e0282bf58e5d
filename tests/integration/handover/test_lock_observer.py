# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""lock_observer through the ansible CLI against a real PostgreSQL: samples, lease gaps, self-ending, and the
/readyz probes against chainlink-sim's rate limiter (a small configured limit, so a run crosses its window many times)."""

from __future__ import annotations

import subprocess
import threading
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._observer import http_budget
from tests.integration.handover.lab import ad_hoc
from tests.support.observer import readyz
from tests.support.postgres import PostgresServer
from tests.support.sim import SimFactory, SimNode

A = "aaaaaaaa-1111-4111-8111-111111111111"
B = "bbbbbbbb-2222-4222-8222-222222222222"


def process_runs(pid: int) -> bool:
    """Whether process pid runs (the sampler is no child of the test: /proc says; a zombie has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while process_runs(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs after {timeout} s"
        time.sleep(0.05)


def observer(url: str, state_dir: Path, **args: t.Any) -> dict[str, t.Any]:
    return ad_hoc("lock_observer", url, state_dir, **args)


@pytest.fixture
def db(handover_pg: PostgresServer) -> t.Iterator[tuple[str, t.Any]]:
    name = handover_pg.create_database("obs")
    conn = handover_pg.connect(name)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE lease_lock (client_id uuid NOT NULL, expires_at timestamptz NOT NULL)")
        cur.execute("CREATE UNIQUE INDEX only_one_lease_lock ON lease_lock ((client_id IS NOT NULL))")
    try:
        yield handover_pg.url(name), conn
    finally:
        conn.close()
        handover_pg.drop_database(name)


def test_observes_a_graceful_handover_with_an_exact_lease_gap(db: tuple[str, t.Any], tmp_path: Path) -> None:
    url, conn = db
    started = observer(url, tmp_path, name="obs-a", lease_duration=5, owner_pid=0)
    assert started["_ok"], started["msg"]
    with conn.cursor() as cur:
        cur.execute("INSERT INTO lease_lock VALUES (%s, now() + interval '5 seconds')", (A,))
        time.sleep(1.0)  # samples of A's tenure (a duration, not a wait for a state)
        # A's graceful release, then B's acquisition: the database's own clock says when each happened
        cur.execute("UPDATE lease_lock SET expires_at = now() WHERE client_id = %s RETURNING extract(epoch FROM now())::float8", (A,))
        (released,) = cur.fetchone()
        time.sleep(0.6)
        cur.execute("UPDATE lease_lock SET client_id = %s, expires_at = now() + interval '5 seconds' RETURNING extract(epoch FROM now())::float8", (B,))
        (acquired,) = cur.fetchone()
        time.sleep(0.5)  # samples of B's tenure
    stopped = observer(url, tmp_path, name="obs-a", state="stopped")
    assert stopped["_ok"] and stopped["changed"], stopped["msg"]
    seen = stopped["observation"]
    (tr,) = seen["transitions"]
    assert (tr["from"], tr["to"], tr["released"], tr["exact"]) == (A, B, "graceful", True)
    # exact: from the rows' own timestamps (release and acquisition), whatever the load did to the 0.6 s sleep
    assert abs(tr["lease_gap"] - (acquired - released)) <= 0.001, (tr, acquired - released)
    assert acquired - released >= 0.6
    assert seen["two_holders_seen"] is False
    samples = seen["samples"]
    # 50 ms asked over about 2 s. The promise is that no tenure falls between two samples: every interval below the 5 s
    # lease; a loaded machine may delay samples, so their count is bounded by that promise, not by the 50 ms asked.
    assert samples["db_samples"] >= 3 and samples["db_max_interval"] < 5.0, samples
    assert seen["ended"] == "stopped"
    # Stopping again changes nothing and gives the same summary.
    again = observer(url, tmp_path, name="obs-a", state="stopped")
    assert again["_ok"] and not again["changed"] and again["observation"]["transitions"] == seen["transitions"]


def test_sampler_ends_itself_when_its_run_is_gone(db: tuple[str, t.Any], tmp_path: Path) -> None:
    url, _conn = db
    owner = subprocess.Popen(["sleep", "120"])  # stands for the ansible-playbook run that started the observer
    try:
        started = observer(url, tmp_path, name="obs-c", owner_pid=owner.pid)
        assert started["_ok"], started["msg"]
    finally:
        owner.kill()  # the run is gone (Ctrl-C, lost controller)
        owner.wait()
    # the sampler checks its owner every 0.2 s and then ends: wait for that, not for a guessed time
    wait_gone(int(started["pid"]), 30)
    stopped = observer(url, tmp_path, name="obs-c", state="stopped")
    assert stopped["_ok"] and not stopped["changed"]
    assert stopped["observation"]["ended"] == "owner_gone"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"interval": 0.5}, "interval must be above 0 and at most 0.1 seconds"),
        ({"http_interval": 0}, "http_interval must be above 0 seconds"),
        ({"lease_table": "lease_lock; DROP TABLE x"}, "is not a valid name"),
        ({"http_probes": {"primary": "127.0.0.1:6688/readyz"}}, "must start with http:// or https://"),
        ({"name": "../escape"}, "must be a plain name"),
    ],
)
def test_bad_input_is_refused_before_anything_starts(db: tuple[str, t.Any], tmp_path: Path, args: dict[str, t.Any], message: str) -> None:
    url, _conn = db
    result = observer(url, tmp_path, **{"name": "obs-d", **args})
    assert not result["_ok"]
    assert message in result["msg"]
    assert not list(tmp_path.glob("*.json"))


# -- /readyz within the node's rate limit ----------------------------------------------------------------------------

LIMIT, PERIOD = 60, 10.0  # requests per seconds: a small limit, so that a short run crosses its window several times
RATE_LIMIT_TOML = f"[WebServer.RateLimit]\nAuthenticated = {LIMIT}\nAuthenticatedPeriod = '{PERIOD:g}s'\n"


@pytest.fixture
def limited_node(handover_pg: PostgresServer, sim_factory: SimFactory) -> t.Iterator[tuple[str, SimNode]]:
    """A booted chainlink-sim whose /readyz allows 60 requests per 10 s per client, on its own database."""
    name = handover_pg.create_database("obs_rate")
    try:
        node = sim_factory.start("2.29.0", handover_pg.url(name), extra_toml=RATE_LIMIT_TOML)
        node.wait_http(30)
        yield handover_pg.url(name), node
        node.stop()
    finally:
        handover_pg.drop_database(name)


def test_probes_within_the_budget_see_no_429_across_many_windows(limited_node: tuple[str, SimNode], tmp_path: Path) -> None:
    url, node = limited_node
    budget = http_budget(LIMIT, PERIOD, boot_timeout=30)
    gate_codes: list[int | None] = []
    stop = threading.Event()

    def health_gate() -> None:  # the handover's health gate, polling the same instance at its budgeted delay
        while not stop.is_set():
            gate_codes.append(readyz(f"{node.base_url}/readyz"))
            stop.wait(budget["gate_delay"])

    began = time.monotonic()
    started = observer(url, tmp_path, name="obs-rate", owner_pid=0, http_interval=budget["observer_interval"], http_probes={"node": f"{node.base_url}/readyz"})
    assert started["_ok"], started["msg"]
    gate = threading.Thread(target=health_gate, daemon=True)
    gate.start()
    time.sleep(3.2 * PERIOD)  # more than three windows of the limiter
    stop.set()
    gate.join(timeout=10)
    stopped = observer(url, tmp_path, name="obs-rate", state="stopped")
    ran = time.monotonic() - began  # the sampler ran within this, and at least the 32 s slept
    assert stopped["_ok"], stopped["msg"]
    seen = stopped["observation"]
    assert seen["http_rate_limited"] == {"node": 0} and seen["http_unknown"] == {"node": 0}, seen["samples"]
    assert set(gate_codes) == {200}, gate_codes
    probes = seen["samples"]["http_samples"]["node"]
    assert 3.2 * PERIOD / budget["observer_interval"] * 0.8 <= probes <= ran / budget["observer_interval"] + 1, seen["samples"]
    assert seen["samples"]["http_interval"] == budget["observer_interval"]
    assert seen["service"]["gaps"] == [] and len(seen["service"]["up"]["node"]) == 1
    # The limiter is live: a burst beyond the limit is refused, so the absence of 429 above is the budget's doing.
    assert 429 in [readyz(f"{node.base_url}/readyz") for _attempt in range(LIMIT + 5)]


def test_an_over_sampled_instance_answers_429_which_counts_as_unknown_not_down(limited_node: tuple[str, SimNode], tmp_path: Path) -> None:
    url, node = limited_node
    # http_timeout 2 s: on this shared host a probe may be slow to answer, which would count as down, not as a 429
    probes = {"node": f"{node.base_url}/readyz"}
    started = observer(url, tmp_path, name="obs-over", owner_pid=0, http_interval=0.05, http_timeout=2, http_probes=probes)
    assert started["_ok"], started["msg"]
    time.sleep(8)  # 20 probes a second: the 60 of the window are spent within about 3 s, then 429
    stopped = observer(url, tmp_path, name="obs-over", state="stopped")
    assert stopped["_ok"], stopped["msg"]
    seen = stopped["observation"]
    limited, unknown = seen["http_rate_limited"]["node"], seen["http_unknown"]["node"]
    assert limited >= 40 and unknown == limited, seen["samples"]
    assert seen["service"]["gaps"] == []  # the node served all along: a 429 never opens a service gap
    assert len(seen["service"]["up"]["node"]) == 1  # one up interval: the 429s neither end it nor start another
    spans = seen["service"]["unknown"]["node"]
    assert spans and all(span["codes"] == [429] for span in spans)
    assert sum(span["seconds"] for span in spans) >= 3
