#!/usr/bin/python
# Copyright: contributors to nodeops.chainlink
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style 6.3)

from __future__ import annotations

DOCUMENTATION = r"""
module: lock_observer
short_description: Watch a Chainlink pair's database lock and HTTP service during a handover
version_added: 0.1.0
description:
  - With O(state=started), starts a background sampler on the managed host (the controller, for a pair host with
    C(ansible_connection=local)) that reads the lease row, the 1.x advisory lock and the connected Chainlink sessions
    from PostgreSQL every O(interval) seconds, and probes each instance's C(/readyz) every O(http_interval) seconds.
  - The two rates differ because the real node answers C(/readyz) behind its authenticated rate limiter
    (C(WebServer.RateLimit.Authenticated) requests per C(AuthenticatedPeriod) per client address, by default 1000 per
    minute, then HTTP 429), while the database has no such limit. The handover role derives O(http_interval) from the
    instances' limit so that the observer and its health gate use at most a third of it, however long the run; the
    database sampling stays fast, since the lease gaps are measured from it. O(http_interval) is the resolution of the
    measured service gaps.
  - A probe answered 200 means in service; no answer (refused, reset, timed out) or 503 (the node's "not ready") means
    not in service; any other answer (429 from the rate limiter above all) says nothing about readiness and counts as
    unknown - it neither opens nor closes a service gap, and the summary counts it per instance.
  - The sampler writes only state changes (with the last sample before each change) to a file under O(state_dir), so
    whatever it saw survives a failed play, a lost controller or the sampler's own end.
  - With O(state=stopped), stops the sampler and returns what it saw - the holders' timeline, every lease handover with
    its lease gap (from the old holder's release to the new holder's acquisition, in database time), the service gaps
    (no instance answering C(/readyz) 200) and whether two holders or two answering instances were ever seen.
  - The sampler ends by itself when the Ansible run that started it is gone (Ctrl-C, lost controller) or after
    O(max_duration) seconds. It guards nothing; M(nodeops.chainlink.pair_guard) keeps a second run off the pair.
  - A background process was chosen over C(async)/C(poll=0) because an async job's result exists only once it ends (a
    killed or timed-out job loses everything it saw), while this sampler keeps its samples on disk as it goes and can be
    stopped and summarised from any later task, including a C(rescue) or C(always) section.
extends_documentation_fragment:
  - nodeops.chainlink._postgres
  - nodeops.chainlink._attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is started or stopped; O(state=stopped) still summarises what a sampler has written.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - O(state=started) does nothing while a sampler of the same run is alive; O(state=stopped) does nothing when none runs.
options:
  name:
    description:
      - Name of the observation, normally the pair's inventory name. Also names the files in O(state_dir).
    type: str
    required: true
  state:
    description:
      - V(started) starts the sampler; V(stopped) stops it and returns the summary.
    type: str
    choices: [started, stopped]
    default: started
  state_dir:
    description:
      - Directory for the sampler's state (C(<name>.json)) and samples (C(<name>.samples.jsonl)) files.
    type: path
    default: ~/.ansible/nodeops_chainlink/observer
  interval:
    description:
      - Seconds between two samples of the database. At most V(0.1) (a handover's lease gaps are measured to it).
    type: float
    default: 0.05
  http_interval:
    description:
      - Seconds between two probes of each URL in O(http_probes); the resolution of the measured service gaps.
      - Keep it inside the instances' HTTP rate limit. The handover role computes it from the limit (at most a third of
        it for the observer and the health gate together); the default, 4 probes a second, is a quarter of the real
        node's default limit of 1000 per minute.
    type: float
    default: 0.25
  lease_table:
    description:
      - The lease table, V(name) or V(schema.name).
    type: str
    default: lease_lock
  lease_duration:
    description:
      - The pair's LeaseDuration in seconds. The exact acquisition time of a new holder is its first C(expires_at) minus
        this; without it, lease gaps are upper bounds from the sample times.
    type: float
  advisory_lock_id:
    description:
      - The 1.x advisory lock key (C(ADVISORY_LOCK_ID)).
    type: int
    default: 1027321974924625846
  http_probes:
    description:
      - Instance name to C(/readyz) URL. Each URL is probed every O(http_interval) seconds; a 200 answer means in service,
        no answer or 503 not in service, anything else (such as 429) unknown.
    type: dict
    default: {}
  http_timeout:
    description:
      - Seconds one probe may take before it counts as not answering.
    type: float
    default: 0.5
  max_duration:
    description:
      - Seconds after which the sampler ends by itself.
    type: float
    default: 3600
  owner_pid:
    description:
      - Process whose end ends the sampler. By default the C(ansible-playbook) (or C(ansible)) process that runs the task;
        V(0) disables the watch (the sampler then runs until stopped or O(max_duration)).
    type: int
  stop_timeout:
    description:
      - Seconds O(state=stopped) waits for the sampler to write its last samples and exit.
    type: float
    default: 10
requirements:
  - psycopg2 >= 2.8
seealso:
  - module: nodeops.chainlink.lock_info
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Start observing the pair before the handover
  nodeops.chainlink.lock_observer:
    name: pair-one
    login_url: "{{ chainlink_database_url }}"
    lease_duration: 10
    http_probes:
      primary: http://127.0.0.1:6688/readyz
      secondary: http://127.0.0.1:6698/readyz
    # within a third of the nodes' rate limit of 60 requests per 10s (see the handover role)
    http_interval: 0.715

- name: Stop observing and read what was seen
  nodeops.chainlink.lock_observer:
    name: pair-one
    state: stopped
    login_url: "{{ chainlink_database_url }}"
  register: seen

- name: Refuse a handover that showed two holders
  ansible.builtin.assert:
    that: not seen.observation.two_holders_seen

- name: Say when the rate limiter hid the service (the sampling exceeded the nodes' limit)
  ansible.builtin.debug:
    msg: "429 answers per instance: {{ seen.observation.http_rate_limited }}"
  when: seen.observation.http_rate_limited.values() | sum > 0
"""

RETURN = r"""
pid:
  description: Process ID of the sampler.
  returned: when O(state=started)
  type: int
  sample: 41234
samples_file:
  description: The file holding the samples.
  returned: always
  type: str
  sample: /root/.ansible/nodeops_chainlink/observer/pair-one.samples.jsonl
observation:
  description: What the sampler saw; null when no samples exist.
  returned: when O(state=stopped)
  type: dict
  contains:
    transitions:
      description:
        - Every change of lease holder, with C(lock) (V(lease)), C(from)/C(to) app IDs and versions, C(released)
          (V(graceful) when the old holder gave the lease back, V(expired) when it ran out), C(released_at), C(acquired_at)
          (database time), C(lease_gap) in seconds, C(exact) (false when the gap is an upper bound), C(overlap) and
          C(old_alive_after_takeover).
        - When no sample saw a valid lease (1.x C(advisorylock) mode), every change of advisory holder instead, with
          C(lock) V(advisory), C(released) V(session_ended) or V(unlocked), and C(lease_gap) the gap between the last
          sample showing the old holder and the first showing the new one (an upper bound, C(exact) false).
      type: list
      elements: dict
    lock:
      description: The locks that changed hands, V(lease) and/or V(advisory) (both in 1.x C(dual) mode); empty when none did.
      type: list
      elements: str
    lock_gaps:
      description: The gap of each of RV(observation.transitions), in seconds.
      type: list
      elements: float
    lease_gaps:
      description: The lease gap of each lease transition, in seconds.
      type: list
      elements: float
    advisory_gaps:
      description: The gap of each advisory-lock transition (1.x C(advisorylock) and C(dual)), in seconds; upper bounds.
      type: list
      elements: float
    timeline:
      description:
        - Segments of constant C(holder) and C(advisory) holder (app IDs, null when none), in database time.
        - C(holder) is the lease holder, or the advisory holder when no sample saw a valid lease (1.x C(advisorylock) mode).
      type: list
      elements: dict
    split_lock_seconds:
      description: Time during which the lease and the advisory lock were held by different instances (1.x dual mode).
      type: float
    service:
      description:
        - Per instance the intervals it answered C(/readyz) 200 (C(up)), the C(gaps) between answers, C(max_gap),
          C(two_answering_seen) and C(overlaps).
        - C(unknown) lists per instance the spans of answers that said nothing about readiness (C(from), C(to), C(seconds),
          C(codes)); an up interval goes on through them, so they never open a service gap.
      type: dict
    http_unknown:
      description: Per instance, the number of probes whose answer said nothing about readiness (429 included).
      type: dict
      sample: {primary: 0, secondary: 0}
    http_rate_limited:
      description: Per instance, the number of probes answered 429 by the instance's rate limiter (0 when the budget held).
      type: dict
      sample: {primary: 0, secondary: 0}
    two_holders_seen:
      description: True when two instances ever held the lock (an overlap, or an old holder still connected after its lease
        ran out and another took it) or answered C(/readyz) 200 at the same time.
      type: bool
    errors:
      description: Number of failed samples (database unreachable); C(last_error) holds the last message.
      type: int
    samples:
      description:
        - Number of database samples (C(db_samples)), the largest interval between two of them (C(db_max_interval)) and how many
          intervals exceeded 0.1 s (C(db_late)); the same per probed URL (C(http_samples), C(http_max_interval), and in
          C(http_late) the intervals above twice O(http_interval)).
        - The intervals asked, C(db_interval) and C(http_interval), and per instance C(http_unknown) and C(http_rate_limited).
      type: dict
    ended:
      description: Why the sampler ended (V(stopped), V(owner_gone), V(max_duration), V(error)), or null while it runs.
      type: str
  sample:
    two_holders_seen: false
    lease_gaps: [0.412]
    transitions:
      - {from: 6b0e..., to: 9c41..., released: graceful, lease_gap: 0.412, exact: true}
"""

import os
import traceback
import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._daemon import alive, find_owner
from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import parse_table_name, split_advisory_key
from ansible_collections.nodeops.chainlink.plugins.module_utils._observer import summarize
from ansible_collections.nodeops.chainlink.plugins.module_utils._observer_process import ObserverParameters, ObserverProcess
from ansible_collections.nodeops.chainlink.plugins.module_utils._postgres import PostgresClient, PostgresError


class ObserverManager:
    def __init__(self, client: PostgresClient) -> None:
        self.client = client
        self.p = ObserverParameters(client.params)
        self.process = ObserverProcess(self.p.state_dir, self.p.name)
        self.result: dict[str, t.Any] = {"changed": False, "samples_file": str(self.process.samples_path)}

    def validate(self) -> None:
        if not 0 < self.p.interval <= 0.1:
            self.client.fail(f"interval must be above 0 and at most 0.1 seconds (got {self.p.interval}): a handover's lease gaps are measured to it")
        if not 0 < self.p.http_interval <= self.p.max_duration:
            self.client.fail(
                f"http_interval must be above 0 seconds (got {self.p.http_interval}): derive it from the instances' HTTP rate limit"
                " (the handover role does), so that the probes stay inside it"
            )
        if self.p.lease_duration is not None and self.p.lease_duration <= 0:
            self.client.fail(f"lease_duration must be the pair's LeaseDuration in seconds, above 0 (got {self.p.lease_duration})")
        if self.p.max_duration <= 0 or self.p.http_timeout <= 0:
            self.client.fail("max_duration and http_timeout must be above 0 seconds")
        if not self.p.name or "/" in self.p.name or self.p.name.startswith("."):
            self.client.fail(f"name '{self.p.name}' must be a plain name such as the pair's inventory name (no '/', not starting with '.')")
        try:
            parse_table_name(self.p.lease_table)
            split_advisory_key(self.p.advisory_lock_id)
        except ValueError as exc:
            self.client.fail(str(exc))
        for name, url in self.p.http_probes.items():
            if not url.startswith(("http://", "https://")):
                self.client.fail(f"http_probes: the URL of '{name}' must start with http:// or https:// (got '{url}')")

    def get_existing(self) -> dict[str, t.Any] | None:
        return self.process.read_meta()

    def started(self) -> None:
        meta = self.get_existing()
        owner_pid = self.p.owner_pid if self.p.owner_pid is not None else find_owner(os.getpid())
        if self.process.running(meta) and meta is not None:
            if owner_pid and meta.get("owner_pid") == owner_pid:
                self.result.update(pid=meta["pid"])
                return
            self.process.wait_gone(meta, 2.0)  # an orphan whose run is gone ends itself within a fraction of a second
            if self.process.running(meta):
                self.client.fail(
                    f"an observer of '{self.p.name}' is already running (pid {meta['pid']}, started {meta.get('started_at')}, by process"
                    f" {meta.get('owner_pid')}): another handover of this pair runs from this machine. Let it finish, or stop it with state=stopped."
                )
        self.result["changed"] = True
        if self.client.check_mode:
            return
        started, message = self.process.start_sampler(self.client, self.p, owner_pid)
        if started is None:
            self.client.fail(f"Failed to start the observer of '{self.p.name}': {message}")
        self.result.update(pid=started["pid"])

    def stopped(self) -> None:
        meta = self.get_existing()
        owner_pid = int((meta or {}).get("owner_pid") or 0)
        if self.process.running(meta) and meta is not None and owner_pid and not alive(owner_pid, None):
            self.process.wait_gone(meta, 2.0)  # its run is gone, so it is ending by itself: nothing for us to stop
        if self.process.running(meta) and meta is not None:
            self.result["changed"] = True
            if not self.client.check_mode and not self.process.terminate(meta, self.p.stop_timeout):
                self.client.warn(f"the observer (pid {meta['pid']}) did not end within {self.p.stop_timeout}s; its last samples may be missing")
        lease_duration = self.p.lease_duration if self.p.lease_duration is not None else (meta or {}).get("lease_duration")
        records = self.process.read_samples()
        self.result["observation"] = summarize(records, lease_duration) if records else None


def main() -> None:
    client = PostgresClient(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["started", "stopped"], "default": "started"},
            "state_dir": {"type": "path", "default": "~/.ansible/nodeops_chainlink/observer"},
            "interval": {"type": "float", "default": 0.05},
            "http_interval": {"type": "float", "default": 0.25},
            "lease_table": {"type": "str", "default": "lease_lock"},
            "lease_duration": {"type": "float"},
            "advisory_lock_id": {"type": "int", "default": 1027321974924625846},
            "http_probes": {"type": "dict", "default": {}},
            "http_timeout": {"type": "float", "default": 0.5},
            "max_duration": {"type": "float", "default": 3600},
            "owner_pid": {"type": "int"},
            "stop_timeout": {"type": "float", "default": 10},
        },
        supports_check_mode=True,
        application_name="nodeops.chainlink lock_observer",
    )
    manager = ObserverManager(client)
    client.application_name = f"nodeops.chainlink lock_observer {manager.p.name}"[:63]
    manager.validate()
    try:
        if manager.p.state == "started":
            manager.started()
        else:
            manager.stopped()
    except (OSError, PostgresError) as exc:
        client.fail(
            f"Failed to {'start' if manager.p.state == 'started' else 'stop'} the observer of '{manager.p.name}': {exc}", exception=traceback.format_exc()
        )
    client.exit(**manager.result)


if __name__ == "__main__":
    main()
