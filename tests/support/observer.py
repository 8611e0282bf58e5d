# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""A 50 ms sampler of who holds the database lock, to prove "never two active holders" across a test.

    with LockObserver(lambda: pg_server.connect(db), nodes=[a, b]) as obs:
        ... handover ...
    obs.assert_never_two_holders()

Each sample reads ``lease_lock`` (holder, still valid?), the advisory lock row of the default key from ``pg_locks``,
the ``Chainlink <ver> |App|<uuid>`` sessions in ``pg_stat_activity``, and which nodes are active. ``nodes`` is a list of
``SimNode`` (active = booted, not shutting down, alive) or any callable returning the set of active app IDs, so
container-based tests can plug in their own view (e.g. from ``/health`` or ``docker logs``).

``readyz(url)`` is one probe as the handover's observer makes it: the status code, or None when nothing answered.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import typing as t
import urllib.error
import urllib.request

import psycopg2
import psycopg2.extensions

if t.TYPE_CHECKING:
    from tests.support.sim import SimNode

ADVISORY_CLASSID = 239192036
ADVISORY_OBJID = 2840971190
_APP_NAME = re.compile(r"^Chainlink .*\|App\|([0-9a-f-]+)$")

SAMPLE_SQL = """
SELECT
  (SELECT client_id::text FROM lease_lock LIMIT 1),
  (SELECT expires_at > now() FROM lease_lock LIMIT 1),
  (SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.classid = %(classid)s AND l.objid = %(objid)s AND l.objsubid = 1 AND l.granted LIMIT 1),
  ARRAY(SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'Chainlink %%|App|%%')
"""


@dataclasses.dataclass(frozen=True)
class Sample:
    at: float
    lease_holder: str | None
    lease_valid: bool
    advisory_holder: str | None  # app ID parsed from the advisory holder's application_name
    connected: frozenset[str]  # app IDs with at least one session
    active: frozenset[str]  # app IDs of nodes doing work at that moment
    error: str = ""


def readyz(url: str, timeout: float = 2.0) -> int | None:
    """One GET of a /readyz URL, bypassing any proxy: the status code (429 included), or None when nothing answered."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


def _app_id(name: str | None) -> str | None:
    match = _APP_NAME.match(name or "")
    return match[1] if match else None


class LockObserver:
    """Background thread sampling the lock every ``interval`` seconds until ``stop()``."""

    def __init__(
        self,
        connect: t.Callable[[], psycopg2.extensions.connection],
        nodes: t.Sequence[SimNode] | t.Callable[[], set[str]] = (),
        interval: float = 0.05,
        lease: bool = True,
    ) -> None:
        self._connect = connect
        self.lease = lease  # nodes use the lease: an active node must then be the valid lease holder
        self._nodes = nodes
        self.interval = interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lock-observer", daemon=True)

    def _active(self) -> frozenset[str]:
        if callable(self._nodes):
            return frozenset(self._nodes())
        return frozenset(n.app_id or f"pid-{n.proc.pid}" for n in self._nodes if n.active)

    def _run(self) -> None:
        conn: psycopg2.extensions.connection | None = None
        while not self._stop.is_set():
            began = time.monotonic()
            active = self._active()
            try:
                if conn is None or conn.closed:
                    conn = self._connect()
                    conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(SAMPLE_SQL, {"classid": ADVISORY_CLASSID, "objid": ADVISORY_OBJID})
                    holder, valid, adv_name, names = cur.fetchone() or (None, None, None, [])
                connected = frozenset(a for a in (_app_id(n) for n in names) if a)
                self.samples.append(Sample(began, holder, bool(valid), _app_id(adv_name), connected, active))
            except psycopg2.Error as exc:
                # A missing lease_lock table (nothing ran yet) or a restarting server: record and keep sampling.
                self.samples.append(Sample(began, None, False, None, frozenset(), active, str(exc).strip()))
                if conn is not None and not conn.closed:
                    conn.close()
                conn = None
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))
        if conn is not None and not conn.closed:
            conn.close()

    def start(self) -> LockObserver:
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join()
        return self.samples

    def __enter__(self) -> LockObserver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_until(self, predicate: t.Callable[[Sample], bool], timeout: float = 10.0) -> Sample:
        """Block until a sample satisfies ``predicate`` (e.g. a new holder was seen); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            current = self.samples[seen:]
            for sample in current:
                if predicate(sample):
                    return sample
            seen += len(current)
            time.sleep(self.interval / 2)
        raise AssertionError(f"no observer sample matched within {timeout}s; last: {self.samples[-1:]}")

    def wait_holder(self, app_id: str, timeout: float = 10.0) -> Sample:
        return self.wait_until(lambda s: s.lease_valid and s.lease_holder == app_id and app_id in s.active, timeout)

    @property
    def max_active(self) -> int:
        return max((len(s.active) for s in self.samples), default=0)

    def violations(self) -> list[Sample]:
        """Samples with two or more active nodes at once, or (lease mode) an active node while another holds a valid lease."""
        return [s for s in self.samples if len(s.active) > 1 or (self.lease and not s.error and s.lease_valid and any(a != s.lease_holder for a in s.active))]

    def holders(self) -> list[str]:
        """The sequence of distinct valid lease holders seen, in order."""
        out: list[str] = []
        for s in self.samples:
            if s.lease_valid and s.lease_holder and (not out or out[-1] != s.lease_holder):
                out.append(s.lease_holder)
        return out

    def assert_never_two_holders(self, min_samples: int = 10) -> None:
        if len(self.samples) < min_samples:
            raise AssertionError(f"the observer took only {len(self.samples)} samples; the test ran too briefly to prove anything")
        bad = self.violations()
        if bad:
            raise AssertionError(f"{len(bad)} samples saw two active holders, first: {bad[0]}")
