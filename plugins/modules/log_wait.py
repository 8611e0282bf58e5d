#!/usr/bin/python
# Copyright: contributors to nodeops.chainlink
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: log_wait
short_description: Wait for a line in a Chainlink node container's log
version_added: 0.1.0
description:
  - Follows the log of a Docker container through the Docker API (like C(docker logs --follow --timestamps)) and
    returns as soon as the wanted lines are written, or fails when the deadline passes, when a O(fail_on) pattern
    shows up, or when the container stops or restarts first.
  - By default only the container's current run counts (O(since=start)), so a line the node printed before the wait
    began is found, but a line from a previous run of the same container is not. This matters for the node's
    standby line, which is printed at start and then only after 1, 2, 4, ..., 512 and every 1000 retries.
  - Each line is parsed before matching. A JSON line (C(JSONConsole=true)) is matched on its C(msg) key (or
    C(message)); a line in the node's console format (C(<timestamp> [LEVEL] <message> <caller> key=value ...)) is
    matched on its message part; any other line is matched as a whole. ANSI colour codes are removed first, and
    surrounding white space is stripped. With O(match_on=line), user regexes see the whole line (ANSI codes
    removed) instead, for example to match a field value.
  - Regular expressions use Python's C(re) syntax and are searched (not anchored); use C(^) to anchor at the start
    of the message, and Python's inline flags for case-insensitive matching (C(?i) in parentheses at the start of
    the pattern).
  - The Docker timestamp prefix is never part of the matched text; it is returned separately.
  - The wait never changes anything, so it runs the same in check mode.
extends_documentation_fragment:
  - nodeops.chainlink._docker
  - nodeops.chainlink._attributes
  - nodeops.chainlink._attributes.info_module
  - nodeops.chainlink._attributes.idempotent_not_modify_state
  - nodeops.chainlink._attributes.actiongroup_chainlink
options:
  name:
    description:
      - Name or ID (also a unique ID prefix) of the container whose log is followed.
    type: str
    required: true
    aliases:
      - container
  regex:
    description:
      - One regular expression, or a list of them, to wait for.
      - A single string is one pattern even when it contains commas (Ansible would split a plain string given to a
        list option at commas, which breaks messages such as C(taken the lease, exiting)).
      - Together with O(preset) these are the patterns that O(match) and O(occurrences) apply to.
      - At least one of O(regex) and O(preset) is required.
    type: raw
  preset:
    description:
      - Named patterns for the node's own messages, matched against the parsed message. Each covers Chainlink 1.x
        and 2.x.
      - V(standby_waiting) - the standby is waiting for the lock, C(Another application is currently holding the
        database lease ... waiting for lease to expire...) (lease, 1.1+ and 2.x) or C(Another application holds the
        advisory lock, waiting...) (advisory lock, 1.x).
      - V(booted) - the node holds the lock and finished starting, C(Chainlink booted in <N.NN>s); its fields
        include C(appID).
      - V(http_listening) - the API is up, C(Listening and serving HTTP on port 6688) (up to 2.2) or
        C(Listening and serving HTTP on 0.0.0.0:6688) (2.3 and later).
      - V(lease_lost) - C(Another node has taken the lease, exiting [immediately]) or C(Another node has taken the
        advisory lock, exiting immediately); the node exits with code 1 right after.
      - "V(shutdown) - C(Shutting down due to <signal> signal received...), C(Shutdown grace period of <d>
        exceeded...) or C(Graceful shutdown time: <d>)."
      - Presets always match the parsed message, whatever O(match_on) says.
    type: list
    elements: str
    choices:
      - standby_waiting
      - booted
      - http_listening
      - lease_lost
      - shutdown
  match:
    description:
      - V(any) - the wait succeeds when O(occurrences) lines matching any of the patterns were seen.
      - V(all) - every pattern must have matched O(occurrences) lines (not necessarily the same lines).
    type: str
    choices:
      - any
      - all
    default: any
  occurrences:
    description:
      - How many matching lines must be seen (per pattern with O(match=all)).
    type: int
    default: 1
  fail_on:
    description:
      - Patterns that end the wait at once with failure when a line matches them, returning that line.
      - Each entry is a preset name (see O(preset)) or a regular expression; one string or a list.
      - They are checked before the wanted patterns, so a line that matches both fails the wait.
    type: raw
  match_on:
    description:
      - What O(regex) and regex entries of O(fail_on) are searched in.
      - V(msg) - the parsed message (see the description above).
      - V(line) - the whole line without Docker's timestamp, ANSI codes removed.
    type: str
    choices:
      - msg
      - line
    default: msg
  since:
    description:
      - Where in the log to start looking.
      - V(start) - the container's current run (or, if it is stopped, its last run); lines printed before the wait
        began are included. The run is located from C(State.StartedAt) and C(State.FinishedAt); the window opens a
        few milliseconds before C(StartedAt), because Docker stamps a run's first lines slightly before it records
        C(StartedAt).
      - V(now) - only lines written after the wait began (clock of the host running the module).
      - An RFC3339 timestamp (V(2026-01-02T15:04:05.123Z), V(2026-01-02T17:04:05+02:00)) or unix seconds
        (V(1767366245.5)) - lines Docker stamped at or after that time, including earlier runs of the container.
    type: str
    default: start
  secrets:
    description:
      - Values that must never be shown (the inventory's passwords, database URL, secret settings), masked as
        C(********) in every line and message the module returns, with each one's other forms (a URL's password raw
        and percent-decoded, a C(password=) value); the filter P(nodeops.chainlink.secret_values#filter) gives them.
      - Whatever is given here, a URL's userinfo password and a C(password=) value are masked too.
    type: list
    elements: str
    default: []
  timeout:
    description:
      - How long to wait, in seconds. Must be greater than zero.
      - This replaces community.docker's API O(timeout) option; every Docker API call of this module is bounded by
        this value too (rounded up to whole seconds). E(DOCKER_TIMEOUT) is not used.
    type: float
    default: 60
notes:
  - The log is read with the Docker logs API, so the container's logging driver must support reading - C(json-file),
    C(local) and C(journald) do; any other driver (C(syslog), C(fluentd), ...) is read from Docker's dual logging
    cache (Docker 20.10 and later, unless the driver's C(cache-disabled) option is set); C(none) keeps no log.
  - A rotated log (C(max-size)/C(max-file), logrotate) no longer holds its oldest lines, so a line printed at start can be
    gone before the wait begins. The result's C(log_cut) says when the log no longer reaches back to the run's start,
    and a timeout's message says so; the node role's state (C(status.yml)) and the handover's detection then identify
    the instance from the database instead.
  - The module follows the stream and reacts as soon as Docker delivers a line; it does not poll. When the
    container stops, Docker ends the stream and the module inspects the container once to report how it ended.
  - A wait can stop at the lines seen so far only because they are complete lines; a last line without a newline
    is only seen when the container stops.
requirements:
  - Docker API >= 1.25
author:
  - nodeops.chainlink maintainers (@nodeops)
seealso:
  - module: nodeops.chainlink.lock_info
  - module: community.docker.docker_container_info
  - name: Docker Engine API, container logs
    description: The API call this module follows.
    link: https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerLogs
"""

EXAMPLES = r"""
---
- name: Wait until the standby reports that another node holds the lock
  nodeops.chainlink.log_wait:
    name: chainlink-secondary
    preset: standby_waiting
    timeout: 30

- name: Wait for the new primary to boot, but stop at once if it loses the lease
  nodeops.chainlink.log_wait:
    name: chainlink-primary
    preset: booted
    fail_on: lease_lost
    timeout: 120
  register: __booted

- name: Show the app ID the booted node logged (compare it with lock_info's lease holder)
  ansible.builtin.debug:
    msg: "Booted as {{ __booted.fields.appID }} at {{ __booted.matched[0].timestamp }}"

- name: Wait until the old primary acknowledged the signal, counting only lines written from now on
  nodeops.chainlink.log_wait:
    name: chainlink-primary
    preset: shutdown
    since: now
    timeout: 15

- name: Wait until the node logged both the API user and the listening line, on a remote Docker daemon over TLS
  nodeops.chainlink.log_wait:
    name: chainlink-primary
    regex:
      - '^API exposed for user '
    preset: http_listening
    match: all
    docker_host: tcp://docker.example.com:2376
    validate_certs: true

- name: Wait for the booted line, the inventory's secrets masked in every line returned
  nodeops.chainlink.log_wait:
    name: chainlink-primary
    preset: booted
    secrets: "{{ [chainlink_database_url, chainlink_keystore_password] | nodeops.chainlink.secret_values(config=chainlink_config_extra) }}"

- name: Wait for the third waiting line (tries 0, 1 and 2), matching a field in the whole line
  nodeops.chainlink.log_wait:
    name: chainlink-secondary
    regex: 'tryCount=2\b|"tryCount":2\b'
    match_on: line
    timeout: 10
"""

RETURN = r"""
matched:
  description:
    - The lines that matched, oldest first (with O(match=all) or O(occurrences) > 1 all the lines that counted).
  returned: success
  type: list
  elements: dict
  contains:
    line:
      description: The line as the container wrote it (ANSI codes kept, without Docker's timestamp and newline).
      type: str
      sample: '{"level":"info","ts":"2026-11-27T05:40:01.123Z","caller":"cmd/shell_local.go:412","msg":"Chainlink booted in 2.51s","appID":"8f0c"}'
    timestamp:
      description: Docker's timestamp of the line (RFC3339, nanoseconds).
      type: str
      sample: '2026-11-27T05:40:01.123891342Z'
    stream:
      description: V(stdout) or V(stderr) (V(stdout) for containers with a TTY).
      type: str
      sample: stderr
    msg:
      description: The parsed message the patterns were matched against.
      type: str
      sample: Chainlink booted in 2.51s
    level:
      description: The log level in lower case, or V(null) for a line that is neither JSON nor console format.
      type: str
      sample: info
    fields:
      description:
        - JSON lines - every key except C(level), C(ts), C(msg) and C(caller), with its JSON type.
        - Console lines - the C(key=value) pairs after the caller, as strings.
        - Other lines - empty.
      type: dict
      sample: {"appID": "8f0c1d5e-3b4a-4c4e-9f21-6a1b2c3d4e5f", "logger": "RunNode"}
fields:
  description: The RV(matched[].fields) of the last matched line, for example C(result.fields.appID).
  returned: success
  type: dict
  sample: {"appID": "8f0c1d5e-3b4a-4c4e-9f21-6a1b2c3d4e5f", "logger": "RunNode"}
elapsed:
  description: Seconds the wait took, from looking up the container to the last matching line.
  returned: always
  type: float
  sample: 1.274
container:
  description: The container as inspected when the module finished (or when it failed).
  returned: when the container exists
  type: dict
  contains:
    id:
      description: Full container ID.
      type: str
      sample: 4c01db0b339c5f53a3ba3d7a8bf1e5e1ba1d5b3de3d9f4e22c5e0b4b3a5d7e10
    name:
      description: Container name without the leading slash.
      type: str
      sample: chainlink-primary
    started_at:
      description: C(State.StartedAt) of the run that was watched.
      type: str
      sample: '2026-11-27T05:39:58.612345678Z'
    status:
      description: C(State.Status), for example V(running) or V(exited).
      type: str
      sample: running
    restart_count:
      description: How often Docker restarted it under its restart policy.
      type: int
      sample: 0
since:
  description: Where the searched part of the log began (RFC3339), or V(null) when the whole log was searched.
  returned: when the container exists
  type: str
  sample: '2026-11-27T05:39:58.612345678Z'
waited_for:
  description: The patterns in words.
  returned: when the container exists
  type: str
  sample: all of [regex '^API exposed for user ', preset http_listening]
log_cut:
  description:
    - Whether the log no longer reaches back to the start of the run (O(since=start)) - its oldest line came more than 5 s
      after the process started, so rotation (Docker's C(max-size)) or a truncation removed the earlier lines and a line
      printed at start (such as the booted line) may be gone. The timeout message says so too.
  returned: when the container exists
  type: bool
  sample: false
last_lines:
  description: The last (at most 20) lines seen, each prefixed with its Docker timestamp.
  returned: on timeout, when the container stopped or restarted, and when a O(fail_on) pattern matched
  type: list
  elements: str
  sample: ['2026-11-27T05:40:01.123891342Z 2026-11-27T05:40:01Z [INFO]  Another application is currently holding ...']
failed_line:
  description: The line that matched O(fail_on), in the format of the RV(matched) entries.
  returned: when a O(fail_on) pattern matched
  type: dict
"""

import collections
import dataclasses
import http.client
import time
import traceback
import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._docker import DockerException, RequestException
from ansible_collections.nodeops.chainlink.plugins.module_utils._docker_logs import (
    ContainerState,
    DockerLogsClient,
    LogLine,
    LogWaitError,
    WaitTimeout,
    format_timestamp_ns,
    parse_since,
    run_window_start_ns,
)
from ansible_collections.nodeops.chainlink.plugins.module_utils._log_patterns import (
    PRESETS,
    Matcher,
    PatternError,
    as_string_list,
    build_fail_on,
    build_patterns,
)
from ansible_collections.nodeops.chainlink.plugins.module_utils._redact import secret_values

if t.TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule

LAST_LINES = 20
# A process logs at once: an oldest line this long after the run started means the log was cut (rotation, truncation)
LOG_CUT_NS = 5_000_000_000


@dataclasses.dataclass(frozen=True)
class Parameters:
    name: str
    matcher: Matcher
    since: str | int  # 'start', 'now' or nanoseconds since the epoch
    timeout: float


def check_parameters(module: AnsibleModule) -> Parameters:
    """Turn the module parameters into a Parameters object, or fail naming the bad option and the fix."""
    p = module.params
    try:
        if p["timeout"] <= 0:
            raise ValueError(f"timeout must be greater than 0 seconds, got {p['timeout']}.")
        match_on = p["match_on"]
        matcher = Matcher(
            patterns=build_patterns(as_string_list(p["regex"], "regex"), p["preset"] or [], match_on),
            mode=p["match"],
            occurrences=p["occurrences"],
            fail_on=build_fail_on(as_string_list(p["fail_on"], "fail_on"), match_on),
        )
        since = parse_since(p["since"])
    except (PatternError, ValueError) as exc:
        module.fail_json(msg=f"Invalid options for log_wait on container '{p['name']}': {exc}")
    return Parameters(name=p["name"], matcher=matcher, since=since, timeout=p["timeout"])


class LogWaiter:
    """Follows one container's log until the matcher is satisfied, a fail_on line appears, time runs out or the run ends."""

    def __init__(self, client: DockerLogsClient, params: Parameters) -> None:
        self.client = client
        self.params = params
        self.matcher = params.matcher
        self.matched: list[LogLine] = []
        self.last: collections.deque[LogLine] = collections.deque(maxlen=LAST_LINES)
        self.started = time.monotonic()
        self.deadline = self.started + params.timeout
        self.container: ContainerState | None = None
        self.window_ns = 0
        # Docker timestamp of the oldest line the log still holds for this window (None: no line yet)
        self.first_ns: int | None = None

    def wait(self) -> dict[str, t.Any]:
        container = self.client.find_container(self.params.name)
        if container is None:
            raise LogWaitError(
                f"Container '{self.params.name}' not found on the Docker daemon at {self.client.daemon}. Check the name or ID (docker ps -a) and docker_host."
            )
        self.container = container
        if self.params.since == "start":
            self.window_ns = run_window_start_ns(container.started_ns, container.finished_ns, container.running)
        elif self.params.since == "now":
            self.window_ns = time.time_ns()
        else:
            self.window_ns = int(self.params.since)

        # The newest Docker timestamp consumed and how many lines carried it: if the daemon ends the stream while the
        # run goes on, following again from that timestamp repeats exactly those lines, which are skipped.
        last_ts, count = self.window_ns, 0
        while True:
            resume_ns, skip = last_ts, count
            try:
                for raw in self.client.follow_logs(container, resume_ns, self.deadline):
                    if skip and raw.ts_ns == resume_ns:
                        skip -= 1
                        continue
                    if self.first_ns is None:
                        self.first_ns = raw.ts_ns
                    if self._consume(LogLine.parse(raw)):
                        return self._success()
                    if raw.ts_ns > last_ts:
                        last_ts, count = raw.ts_ns, 1
                    elif raw.ts_ns == last_ts:
                        count += 1
            except WaitTimeout:
                raise self._failure(
                    f"Timed out after {self.params.timeout:g} s waiting for {self.matcher.describe()} in the log of container "
                    f"'{container.name}' ({self.matcher.progress()}, lines since {self._since_text()}).{self._cut_note()}"
                ) from None
            now = self.client.inspect_container(container.id)
            if now is None or now.status == "removing":
                raise self._failure(f"Container '{container.name}' was removed while waiting for {self.matcher.describe()} ({self.matcher.progress()}).")
            self.container = now
            if now.started_at != container.started_at:
                raise self._failure(
                    f"Container '{container.name}' restarted while waiting for {self.matcher.describe()} ({self.matcher.progress()}): "
                    f"the watched run started at {container.started_at} and ended at {now.finished_at} (Docker keeps no exit code across a "
                    f"restart), the new one started at {now.started_at} (restart count {now.restart_count})."
                )
            if not now.running:
                was = "stopped: it" if container.running else "is not running: it"
                raise self._failure(
                    f"Container '{container.name}' {was} {now.how_it_ended()}, and its log since {self._since_text()} has no "
                    f"{self.matcher.describe()} ({self.matcher.progress()})."
                )
            # Still the same run, yet the daemon ended the stream: follow again (rare; a short pause avoids a busy loop).
            time.sleep(0.05)

    def _consume(self, line: LogLine) -> bool:
        self.last.append(line)
        verdict = self.matcher.feed(line.parsed)
        if verdict.failed_by is not None:
            name = self.container.name if self.container else self.params.name
            raise self._failure(
                f"Container '{name}' logged a line matching fail_on {verdict.failed_by.label} while waiting for {self.matcher.describe()}: {line.display()}",
                failed_line=line.result(),
            )
        if verdict.matched:
            self.matched.append(line)
        return self.matcher.done

    def _cut_by_ns(self) -> int:
        """How long after the run started the oldest line left in the log came (0 when unknown or not for since=start)."""
        started = self.container.started_ns if self.container is not None else None
        if self.params.since != "start" or not started or self.first_ns is None:
            return 0
        return max(self.first_ns - started, 0)

    def _log_cut(self) -> bool:
        """Whether the log no longer reaches back to the run's start: its oldest line came well after the process started
        (a process logs at once), so rotation (Docker's max-size) or a truncation removed the earlier lines."""
        return self._cut_by_ns() > LOG_CUT_NS

    def _cut_note(self) -> str:
        if not self._log_cut() or self.first_ns is None:
            return ""
        return (
            f" The log now begins at {format_timestamp_ns(self.first_ns)}, {self._cut_by_ns() / 1e9:.0f} s after the run started:"
            " its earlier lines were rotated or truncated away (Docker's max-size, logrotate), so a line printed at start may be gone."
        )

    def _since_text(self) -> str:
        return format_timestamp_ns(self.window_ns) if self.window_ns else "its first line"

    def _common(self) -> dict[str, t.Any]:
        result: dict[str, t.Any] = {"changed": False, "elapsed": round(time.monotonic() - self.started, 3)}
        if self.container is not None:
            result.update(
                container=self.container.result(),
                since=format_timestamp_ns(self.window_ns) if self.window_ns else None,
                waited_for=self.matcher.describe(),
                log_cut=self._log_cut(),
            )
        return result

    def _success(self) -> dict[str, t.Any]:
        result = self._common()
        if self.container is not None:
            # The state as the module returns (a node that matched lease_lost may have exited by now).
            refreshed = self.client.inspect_container(self.container.id)
            if refreshed is not None:
                result["container"] = refreshed.result()
        result.update(matched=[line.result() for line in self.matched], fields=self.matched[-1].parsed.fields)
        return result

    def _failure(self, msg: str, **details: t.Any) -> LogWaitError:
        lines = [line.display() for line in self.last]
        text = f"{msg}\nLast {len(lines)} lines:\n" + "\n".join(lines) if lines else f"{msg}\nNo lines were written since {self._since_text()}."
        return LogWaitError(text, last_lines=lines, matched=[line.result() for line in self.matched], **self._common(), **details)


def main() -> None:
    argument_spec: dict[str, t.Any] = {
        "name": {"type": "str", "required": True, "aliases": ["container"]},
        "regex": {"type": "raw"},
        "preset": {"type": "list", "elements": "str", "choices": sorted(PRESETS)},
        "match": {"type": "str", "choices": ["any", "all"], "default": "any"},
        "occurrences": {"type": "int", "default": 1},
        "fail_on": {"type": "raw"},
        "match_on": {"type": "str", "choices": ["msg", "line"], "default": "msg"},
        "since": {"type": "str", "default": "start"},
        # Replaces community.docker's integer API timeout of the same name (see the option's documentation).
        "timeout": {"type": "float", "default": 60.0},
        "secrets": {"type": "list", "elements": "str", "no_log": True, "default": []},
    }
    checked: list[Parameters] = []
    client = DockerLogsClient(
        argument_spec=argument_spec,
        check_params=lambda module: checked.append(check_parameters(module)),
        supports_check_mode=True,
        required_one_of=[("regex", "preset")],
    )
    name = client.module.params["name"]
    client.secrets = secret_values(client.module.params["secrets"])
    waiter = LogWaiter(client, checked[0])
    try:
        client.exit(**waiter.wait())
    except LogWaitError as exc:
        client.fail(str(exc), **exc.details)
    except (OSError, http.client.HTTPException) as exc:
        client.fail(
            f"Lost the log stream of container '{name}' from the Docker daemon at {client.daemon}: {exc}", exception=traceback.format_exc(), **waiter._common()
        )
    except DockerException as exc:
        client.fail(f"Docker API error while waiting on the log of container '{name}': {exc}", exception=traceback.format_exc(), **waiter._common())
    except RequestException as exc:
        client.fail(
            f"Error talking to the Docker daemon at {client.daemon} while waiting on the log of container '{name}': {exc}",
            exception=traceback.format_exc(),
            **waiter._common(),
        )


if __name__ == "__main__":
    main()
