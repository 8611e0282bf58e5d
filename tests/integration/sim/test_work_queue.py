# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The active instance's work (``sim_job_runs``): nothing lost or done twice across graceful and SIGKILL handovers."""

from __future__ import annotations

import threading
import time

from tests.integration.sim.helpers import V2, Db
from tests.support.observer import LockObserver
from tests.support.sim import SimFactory

AUDIT_SQL = """
CREATE TABLE sim_job_audit (run_id bigint NOT NULL, completed_by uuid NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION sim_job_audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.completed_at IS NOT NULL THEN
    INSERT INTO sim_job_audit (run_id, completed_by) VALUES (NEW.id, NEW.completed_by);
  END IF;
  RETURN NEW;
END $$;
"""


def test_every_job_completed_exactly_once_across_handovers(db: Db, sim_factory: SimFactory) -> None:
    first = sim_factory.start(V2, db.url)
    first.wait_booted()
    db.execute(AUDIT_SQL)
    db.execute("CREATE TRIGGER sim_job_audit AFTER UPDATE ON sim_job_runs FOR EACH ROW EXECUTE FUNCTION sim_job_audit_fn()")
    second = sim_factory.start(V2, db.url)
    second.wait_waiting()

    stop = threading.Event()

    def produce() -> None:
        conn = db.connect()
        try:
            with conn.cursor() as cur:
                while not stop.is_set():
                    cur.execute("INSERT INTO sim_job_runs DEFAULT VALUES")
                    time.sleep(0.02)
        finally:
            conn.close()

    producer = threading.Thread(target=produce)
    with LockObserver(db.connect, [first, second]) as obs:
        producer.start()
        time.sleep(0.5)
        first.terminate()  # graceful handover to second
        assert first.wait_exit() == 0
        second.wait_booted(5)
        third = sim_factory.start(V2, db.url)
        third.wait_waiting()
        obs._nodes = [first, second, third]
        time.sleep(0.5)
        second.kill()  # crash handover to third
        third.wait_booted(6)
        time.sleep(0.5)
        stop.set()
        producer.join()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and db.one("SELECT count(*) FROM sim_job_runs WHERE completed_at IS NULL"):
            time.sleep(0.1)
    obs.assert_never_two_holders()

    total = db.one("SELECT count(*) FROM sim_job_runs")
    assert total > 50
    assert db.one("SELECT count(*) FROM sim_job_runs WHERE completed_at IS NULL") == 0
    assert db.one("SELECT count(*) FROM sim_job_audit") == total, "each row was completed exactly once"
    assert db.one("SELECT count(*) FROM sim_job_runs WHERE claimed_by IS DISTINCT FROM completed_by") == 0
    by_node = dict(db.rows("SELECT completed_by::text, count(*) FROM sim_job_runs GROUP BY 1"))
    assert set(by_node) == {first.app_id, second.app_id, third.app_id}
    # Tenures do not overlap: every row of an earlier holder was completed before any row of the next.
    spans = db.rows("SELECT completed_by::text, min(completed_at), max(completed_at) FROM sim_job_runs GROUP BY 1 ORDER BY 2")
    assert [s[0] for s in spans] == [first.app_id, second.app_id, third.app_id]
    for earlier, later in zip(spans, spans[1:], strict=False):
        assert earlier[2] < later[1]
