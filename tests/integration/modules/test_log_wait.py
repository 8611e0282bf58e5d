# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""nodeops.chainlink.log_wait against the real Docker engine.

Containers from the base image print lines at known times (``sh -c`` with sleeps) or on demand (``docker exec``
writing to PID 1's stdout, which is the container's log). The module runs in-process through main(); one test runs it
through ``ansible-playbook`` to prove the FQCN, the action group and check mode end to end; the last tests use the
chainlink-sim image's real waiting and booted lines.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
import time
import typing as t
import uuid
from pathlib import Path

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._docker_logs import parse_timestamp_ns
from ansible_collections.nodeops.chainlink.plugins.modules import log_wait
from tests.support.ansible_module import run_module
from tests.support.postgres import TEST_LABEL, PostgresServer, free_port

ROOT = Path(__file__).resolve().parents[3]
BASE_IMAGE = os.environ.get("LAB_BASE_IMAGE", "nodeops-lab/base:bookworm")
SIM_IMAGE = os.environ.get("LAB_SIM_IMAGE", "nodeops-lab/chainlink-sim")
BOOTED_JSON = (
    '{"level":"info","ts":"2026-11-27T05:40:01.123Z","logger":"RunNode","caller":"cmd/shell_local.go:390",'
    '"msg":"Chainlink booted in 1.25s","appID":"8f0c1d5e-3b4a"}'
)
LEASE_LOST = "Another node has taken the lease, exiting immediately"


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


class Containers:
    """Containers of one test: unique names, the test label, host networking; all removed at the end."""

    def __init__(self) -> None:
        self.prefix = f"lwtest-{uuid.uuid4().hex[:8]}"
        self.names: list[str] = []

    def run(self, script: str, *options: str, image: str = BASE_IMAGE, command: t.Sequence[str] | None = None) -> str:
        name = f"{self.prefix}-{len(self.names)}"
        self.names.append(name)
        cmd = list(command) if command is not None else ["sh", "-c", script]
        docker("run", "-d", "--name", name, "--label", TEST_LABEL, "--network", "host", *options, image, *cmd)
        return name

    def say(self, name: str, line: str) -> None:
        """Write a line into the container's log now."""
        docker("exec", name, "sh", "-c", f"printf '%s\\n' {sh_quote(line)} > /proc/1/fd/1")

    def logs(self, name: str) -> str:
        done = subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=30, check=False)
        return done.stdout + done.stderr

    def wait_logged(self, name: str, text: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.logs(name):
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} did not log {text!r}; log:\n{self.logs(name)}")
            time.sleep(0.05)

    def wait_status(self, name: str, status: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while docker("inspect", "-f", "{{.State.Status}}", name) != status:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} did not reach status {status}")
            time.sleep(0.05)

    def inspect(self, name: str, template: str) -> str:
        return docker("inspect", "-f", template, name)

    def remove_all(self) -> None:
        for name in self.names:
            docker("rm", "-f", "-v", name, check=False)


@pytest.fixture
def containers() -> t.Iterator[Containers]:
    box = Containers()
    try:
        yield box
    finally:
        box.remove_all()


def wait(**args: t.Any) -> dict[str, t.Any]:
    args.setdefault("timeout", 20)
    return run_module(log_wait.main, args)


def later(delay: float, action: t.Callable[[], object]) -> threading.Timer:
    timer = threading.Timer(delay, action)
    timer.start()
    return timer


def rfc3339_to_epoch(text: str) -> float:
    from ansible_collections.nodeops.chainlink.plugins.module_utils._docker_logs import parse_timestamp_ns

    ns = parse_timestamp_ns(text)
    if ns is None:
        raise AssertionError(f"zero timestamp {text!r}")
    return ns / 1e9


# --- lines written while waiting -----------------------------------------------------------------------------------


def test_json_line_written_while_waiting_returns_its_fields(containers: Containers) -> None:
    name = containers.run(f"sleep 1; echo {sh_quote(BOOTED_JSON)}; sleep 60")
    began = time.time()
    result = wait(name=name, preset="booted")
    assert not result.get("failed"), result["msg"]
    assert result["changed"] is False
    (line,) = result["matched"]
    assert rfc3339_to_epoch(line["timestamp"]) > began  # written after the wait began, so it was followed, not read back
    assert (line["msg"], line["level"], line["stream"], line["line"]) == ("Chainlink booted in 1.25s", "info", "stdout", BOOTED_JSON)
    assert result["fields"] == {"logger": "RunNode", "appID": "8f0c1d5e-3b4a"}
    assert result["container"]["name"] == name
    assert result["container"]["status"] == "running"
    assert result["container"]["started_at"] == containers.inspect(name, "{{.State.StartedAt}}")
    assert result["waited_for"] == "preset booted"


def test_console_line_with_colours_on_stderr(containers: Containers) -> None:
    esc = "\x1b"
    console = (
        f"2026-11-27T05:40:01Z {esc}[37m[INFO]  {esc}[0m{'Chainlink booted in 0.52s':<50} {esc}[34mcmd/shell_local.go:390{esc}[0m          "
        f"{esc}[36mappID{esc}[0m=8f0c1d5e-3b4a {esc}[36mversion{esc}[0m=2.29.0@db18080 "
    )
    name = containers.run(f"sleep 0.5; printf '%s\\n' {sh_quote(console)} >&2; sleep 60")
    result = wait(name=name, preset=["booted"])
    assert not result.get("failed"), result["msg"]
    (line,) = result["matched"]
    assert line["stream"] == "stderr"
    assert line["line"] == console  # raw: colours and trailing space kept
    assert line["msg"] == "Chainlink booted in 0.52s"
    assert result["fields"] == {"appID": "8f0c1d5e-3b4a", "version": "2.29.0@db18080"}


def test_line_printed_after_start_but_before_the_wait_is_found(containers: Containers) -> None:
    name = containers.run("echo 'early bird appID=1'; sleep 60")
    containers.wait_logged(name, "early bird")
    began = time.time()
    result = wait(name=name, regex="early bird")
    assert not result.get("failed"), result["msg"]
    assert rfc3339_to_epoch(result["matched"][0]["timestamp"]) < began
    assert result["since"] is None  # never restarted: the whole log is this run


def test_since_now_skips_earlier_lines_and_takes_later_ones(containers: Containers) -> None:
    name = containers.run("echo 'marker before'; sleep 60")
    containers.wait_logged(name, "marker before")
    result = wait(name=name, regex="^marker", since="now", timeout=1)
    assert result["failed"] and "Timed out after 1 s" in result["msg"]
    assert result["last_lines"] == []
    later(0.7, lambda: containers.say(name, "marker after"))
    result = wait(name=name, regex="^marker", since="now")
    assert not result.get("failed"), result["msg"]
    assert [m["msg"] for m in result["matched"]] == ["marker after"]


def test_tty_container(containers: Containers) -> None:
    name = containers.run("echo 'tty says hello'; sleep 60", "-t")
    result = wait(name=name, regex="hello$")
    assert not result.get("failed"), result["msg"]
    assert result["matched"][0]["line"] == "tty says hello"


# --- counting ------------------------------------------------------------------------------------------------------


def test_occurrences_counts_matching_lines(containers: Containers) -> None:
    name = containers.run("i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo tick $i; echo noise; sleep 0.05; done; sleep 60")
    result = wait(name=name, regex="^tick", occurrences=5)
    assert not result.get("failed"), result["msg"]
    assert [m["msg"] for m in result["matched"]] == [f"tick {i}" for i in range(1, 6)]


def test_match_all_waits_for_every_pattern(containers: Containers) -> None:
    name = containers.run("echo alpha; sleep 0.5; echo gamma; sleep 0.5; echo 'beta key=v'; sleep 60")
    result = wait(name=name, regex=["^alpha$", "^beta"], match="all")
    assert not result.get("failed"), result["msg"]
    assert [m["msg"] for m in result["matched"]] == ["alpha", "beta key=v"]
    assert result["waited_for"] == "all of [regex '^alpha$', regex '^beta']"
    result = wait(name=name, regex=["^alpha$", "^beta"], match="any")
    assert [m["msg"] for m in result["matched"]] == ["alpha"]


def test_match_on_line_sees_json_fields(containers: Containers) -> None:
    name = containers.run(f"echo {sh_quote(BOOTED_JSON)}; sleep 60")
    assert wait(name=name, regex='"appID":"8f0c', timeout=1)["failed"]  # not in msg
    result = wait(name=name, regex='"appID":"8f0c', match_on="line")
    assert not result.get("failed"), result["msg"]


# --- failures while waiting ----------------------------------------------------------------------------------------


def test_timeout_reports_the_last_20_lines_and_the_wait(containers: Containers) -> None:
    name = containers.run("i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo line $i; done; sleep 60")
    containers.wait_logged(name, "line 30")
    result = wait(name=name, regex="never", preset="booted", timeout=1)
    assert result["failed"]
    assert result["msg"].startswith("Timed out after 1 s waiting for any of [regex 'never', preset booted] in the log of container")
    assert [entry.split(" ", 1)[1] for entry in result["last_lines"]] == [f"line {i}" for i in range(11, 31)]
    assert "line 30" in result["msg"] and "line 10\n" not in result["msg"]
    assert result["matched"] == []


def test_the_callers_secrets_are_masked_in_every_line_returned(containers: Containers) -> None:
    """A node may log a secret the inventory holds (an RPC key in a URL path, the keystore password): masked wherever
    log_wait returns a line - its message, last_lines, matched and fields - in all its forms."""
    key, keystore = "rpc-Key-8f3a9c1d", "keystore-Passw0rd-Secret"
    url = f"wss://mainnet.example.test/ws/{key}"
    booted = json.dumps({"level": "info", "msg": "Chainlink booted in 1.00s", "rpc": url, "note": f"pw {keystore}"})
    name = containers.run(f"echo {sh_quote('dialing ' + url)}; echo {sh_quote(booted)}; sleep 60")
    containers.wait_logged(name, "Chainlink booted")
    secrets = [keystore, url]
    found = wait(name=name, preset="booted", secrets=secrets)
    timed_out = wait(name=name, regex="never", timeout=1, secrets=secrets)
    assert not found.get("failed"), found["msg"]
    assert found["fields"]["rpc"] == "********" and found["fields"]["note"] == "pw ********"
    assert timed_out["failed"] and "dialing ********" in timed_out["msg"]
    assert any("dialing ********" in entry for entry in timed_out["last_lines"])
    for result in (found, timed_out):
        text = json.dumps(result)
        assert key not in text and keystore not in text


def test_exit_while_waiting_fails_at_once_with_exit_code_and_last_lines(containers: Containers) -> None:
    name = containers.run("echo started; sleep 1; echo 'dying now'; exit 3")
    result = wait(name=name, regex="never", timeout=60)
    assert result["failed"]
    assert f"Container '{name}' stopped: it exited with code 3" in result["msg"]
    assert [entry.split(" ", 1)[1] for entry in result["last_lines"]] == ["started", "dying now"]
    assert result["container"]["status"] == "exited"
    assert result["elapsed"] < 30  # did not sit out the 60 s timeout


def test_stopped_container_whose_log_has_the_line_succeeds(containers: Containers) -> None:
    name = containers.run(f"echo {sh_quote(LEASE_LOST)}; exit 1")
    containers.wait_status(name, "exited")
    result = wait(name=name, preset="lease_lost")
    assert not result.get("failed"), result["msg"]
    assert result["container"]["status"] == "exited"
    result = wait(name=name, preset="booted")
    assert result["failed"]
    assert f"Container '{name}' is not running: it exited with code 1" in result["msg"]


def test_fail_on_ends_the_wait_with_the_line(containers: Containers) -> None:
    name = containers.run(f"echo 'Taking initial lease...'; sleep 0.5; echo {sh_quote(LEASE_LOST)}; sleep 60")
    result = wait(name=name, preset="booted", fail_on=["lease_lost", "panic:"], timeout=60)
    assert result["failed"]
    assert "matching fail_on preset lease_lost while waiting for preset booted" in result["msg"]
    assert result["failed_line"]["msg"] == LEASE_LOST
    assert containers.inspect(name, "{{.State.Running}}") == "true"  # the line ended it, not the exit


def test_removed_while_waiting(containers: Containers) -> None:
    name = containers.run("echo here; sleep 60")
    containers.wait_logged(name, "here")
    later(0.5, lambda: docker("rm", "-f", name))
    result = wait(name=name, regex="never", timeout=60)
    assert result["failed"]
    assert f"Container '{name}' was removed while waiting" in result["msg"]


# --- restarts ------------------------------------------------------------------------------------------------------

# Each run prints its number (kept in the container's file system) and then READY; later runs print READY after 1 s.
RUNS = 'n=$(cat /tmp/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /tmp/n; echo "boot $n"; [ $n -gt 1 ] && sleep 1; echo "READY run=$n"; exec sleep 60'


def test_restarted_container_only_the_new_run_counts(containers: Containers) -> None:
    name = containers.run(RUNS)
    containers.wait_logged(name, "READY run=1")
    first_start = containers.inspect(name, "{{.State.StartedAt}}")
    docker("restart", "-t", "0", name)
    result = wait(name=name, regex="^READY")
    assert not result.get("failed"), result["msg"]
    assert [m["msg"] for m in result["matched"]] == ["READY run=2"]
    assert result["container"]["started_at"] != first_start
    # An explicit since reaches back into the earlier run. Docker may stamp a run's first lines a few ms before
    # the StartedAt it records, so look from one second before it.
    first_start_ns = parse_timestamp_ns(first_start)
    assert first_start_ns is not None
    result = wait(name=name, regex="^READY", since=f"{first_start_ns / 1e9 - 1:.3f}")
    assert [m["msg"] for m in result["matched"]] == ["READY run=1"]


def test_restart_while_waiting_fails_at_once(containers: Containers) -> None:
    name = containers.run(RUNS)
    containers.wait_logged(name, "READY run=1")
    later(0.5, lambda: docker("restart", "-t", "0", name))
    result = wait(name=name, regex="never", timeout=60)
    assert result["failed"]
    # `docker restart` stops, then starts: the module looks when the stream ends, which is either still between
    # the two (the exit of the watched run, killed by SIGKILL) or already after the new start.
    assert re.search(
        rf"Container '{name}' (restarted while waiting for regex 'never'|stopped: it exited with code 137 at .*, and its log since)", result["msg"]
    ), result["msg"]
    assert any(entry.endswith("READY run=1") for entry in result["last_lines"])
    assert result["elapsed"] < 30


# --- bad input -----------------------------------------------------------------------------------------------------


def test_unknown_container() -> None:
    result = wait(name="lwtest-no-such-container", preset="booted")
    assert result["failed"]
    assert result["msg"].startswith("Container 'lwtest-no-such-container' not found on the Docker daemon at unix:///var/run/docker.sock.")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"regex": "a(b"}, "Invalid regular expression in regex[0]: 'a(b': missing ), unterminated subpattern"),
        ({"regex": ["ok", "[x"]}, "Invalid regular expression in regex[1]: '[x'"),
        ({"preset": "booted", "fail_on": ["lease_lost", "*"]}, "Invalid regular expression in fail_on[1]: '*'"),
        ({"regex": [{"a": 1}]}, "regex[0] must be a string"),
        ({"regex": "x", "timeout": 0}, "timeout must be greater than 0 seconds, got 0.0"),
        ({"regex": "x", "timeout": -1.5}, "timeout must be greater than 0 seconds, got -1.5"),
        ({"regex": "x", "occurrences": 0}, "occurrences must be at least 1"),
        ({"regex": "x", "since": "yesterday"}, "since must be 'start', 'now', an RFC3339 timestamp"),
        ({}, "one of the following is required: regex, preset"),
        ({"preset": "bootet"}, "value of preset must be one or more of"),
    ],
)
def test_bad_input_is_refused_before_contacting_docker(args: dict[str, t.Any], error: str) -> None:
    # The daemon address is unreachable: the input error must come first.
    result = wait(name="anything", docker_host=f"tcp://127.0.0.1:{free_port()}", **args)
    assert result["failed"]
    assert error in result["msg"]


def test_unreachable_daemon_is_named() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    result = wait(name="anything", regex="x", docker_host=address)
    assert result["failed"]
    assert result["msg"].startswith(f"Cannot talk to the Docker daemon at {address}: ")
    assert "Connection refused" in result["msg"]


# --- through ansible-playbook ---------------------------------------------------------------------------------------


def test_playbook_check_mode_action_group_and_registered_fields(containers: Containers, tmp_path: Path) -> None:
    name = containers.run(f"sleep 0.5; echo {sh_quote(BOOTED_JSON)}; sleep 60")
    playbook = tmp_path / "wait.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "module_defaults": {"group/nodeops.chainlink.chainlink": {"timeout": 1.5}},
                    "tasks": [
                        {"name": "Wait for boot", "nodeops.chainlink.log_wait": {"name": name, "preset": "booted", "timeout": 20}, "register": "booted"},
                        {
                            "name": "Timeout from module_defaults",
                            "nodeops.chainlink.log_wait": {"name": name, "regex": "never"},
                            "register": "late",
                            "ignore_errors": True,
                        },
                        {
                            "name": "Check",
                            "ansible.builtin.assert": {
                                "that": [
                                    "booted is not changed",
                                    "booted.fields.appID == '8f0c1d5e-3b4a'",
                                    "late is failed",
                                    "'Timed out after 1.5 s' in late.msg",
                                ]
                            },
                        },
                    ],
                }
            ]
        )
    )
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            "localhost,",
            "-c",
            "local",
            "--check",
            "-e",
            f"ansible_python_interpreter={ROOT / '.venv' / 'bin' / 'python'}",
            str(playbook),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(ROOT),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok=3" in done.stdout and "failed=0" in done.stdout


# --- the node double -------------------------------------------------------------------------------------------------


def sim_image(version: str) -> str:
    image = f"{SIM_IMAGE}:{version}"
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode != 0:
        pytest.fail(f"image {image} is missing: build it with lab/lab images")
    return image


class SimPair:
    """chainlink-sim containers sharing one database: 2.x configured through CL_CONFIG / CL_DATABASE_URL, 1.x through
    its environment variables."""

    def __init__(self, box: Containers, database_url: str, workdir: Path) -> None:
        self.box, self.database_url = box, database_url
        self.api = workdir / "api"
        self.api.write_text("sim@example.com\nsim-api-password-1\n")
        self.password = workdir / "password"
        self.password.write_text("sim-keystore-Passw0rd!\n")
        workdir.chmod(0o755)
        self.api.chmod(0o644)
        self.password.chmod(0o644)

    def start_v1(self, version: str, locking_mode: str) -> str:
        env = {
            "DATABASE_URL": self.database_url,
            "DATABASE_LOCKING_MODE": locking_mode,
            "LEASE_LOCK_DURATION": "2s",
            "LEASE_LOCK_REFRESH_INTERVAL": "0.5s",
            "CHAINLINK_PORT": str(free_port()),
            "CHAINLINK_TLS_PORT": "0",
            "SECURE_COOKIES": "false",
            "SIM_LISTEN_IP": "127.0.0.1",
        }
        return self.box.run(
            "",
            "-v",
            f"{self.api}:/sim/api:ro",
            "-v",
            f"{self.password}:/sim/password:ro",
            *[arg for key, value in env.items() for arg in ("-e", f"{key}={value}")],
            image=sim_image(version),
            command=["local", "node", "-p", "/sim/password", "-a", "/sim/api"],
        )

    def start(self, json_logs: bool) -> str:
        config = (
            f"[Log]\nJSONConsole = {str(json_logs).lower()}\n[Database.Lock]\nLeaseDuration = '2s'\nLeaseRefreshInterval = '0.5s'\n"
            f"[WebServer]\nHTTPPort = {free_port()}\nListenIP = '127.0.0.1'\nSecureCookies = false\n[WebServer.TLS]\nHTTPSPort = 0\n"
        )
        return self.box.run(
            "",
            "-v",
            f"{self.api}:/sim/api:ro",
            "-e",
            f"CL_CONFIG={config}",
            "-e",
            f"CL_DATABASE_URL={self.database_url}",
            "-e",
            "CL_PASSWORD_KEYSTORE=sim-keystore-Passw0rd!",
            image=sim_image("2.29.0"),
            command=["node", "start", "-a", "/sim/api"],
        )


@pytest.fixture
def sim_pair(containers: Containers, pg_server: PostgresServer, pg_db: str) -> t.Iterator[SimPair]:
    with tempfile.TemporaryDirectory(prefix="lwtest-sim-") as workdir:
        # the test server's login meets the node's password rules (16 characters or more)
        yield SimPair(containers, pg_server.url(pg_db) + "?sslmode=disable", Path(workdir))


def test_sim_standby_waits_then_boots_after_handover(sim_pair: SimPair) -> None:
    primary = sim_pair.start(json_logs=True)
    booted = wait(name=primary, preset="booted", fail_on="lease_lost")
    assert not booted.get("failed"), booted["msg"]
    primary_id = booted["fields"]["appID"]
    assert booted["matched"][0]["level"] == "info"

    standby = sim_pair.start(json_logs=False)  # console format
    waiting = wait(name=standby, preset="standby_waiting", occurrences=2, fail_on=["booted"])
    assert not waiting.get("failed"), waiting["msg"]
    first, second = waiting["matched"]
    assert first["msg"].startswith("Another application is currently holding the database lease")
    assert (first["fields"]["tryCount"], second["fields"]["tryCount"]) == ("0", "1")  # the logRetry cadence: tries 0, 1, 2, 4, ...
    standby_id = waiting["fields"]["appID"]
    assert standby_id != primary_id

    docker("stop", "-t", "5", primary)
    took_over = wait(name=standby, preset="booted", fail_on="lease_lost", timeout=30)
    assert not took_over.get("failed"), took_over["msg"]
    assert took_over["fields"]["appID"] == standby_id
    assert took_over["matched"][0]["level"] == "info"
    # The waiting lines came before the booted line in the same run.
    assert took_over["matched"][0]["timestamp"] > second["timestamp"]


def test_sim_http_listening_and_shutdown(sim_pair: SimPair) -> None:
    node = sim_pair.start(json_logs=True)
    listening = wait(name=node, preset="http_listening")
    assert not listening.get("failed"), listening["msg"]
    assert listening["fields"]["ip"] == "127.0.0.1"
    later(0.3, lambda: docker("kill", "-s", "TERM", node))
    shutdown = wait(name=node, preset="shutdown", since="now")
    assert not shutdown.get("failed"), shutdown["msg"]
    assert shutdown["matched"][0]["msg"].startswith("Shutting down due to terminated signal received")


def test_sim_1x_advisory_lock_standby(sim_pair: SimPair) -> None:
    primary = sim_pair.start_v1("1.11.0", "advisorylock")
    booted = wait(name=primary, preset="booted")
    assert not booted.get("failed"), booted["msg"]
    standby = sim_pair.start_v1("1.11.0", "advisorylock")
    waiting = wait(name=standby, preset="standby_waiting", fail_on="booted")
    assert not waiting.get("failed"), waiting["msg"]
    (line,) = waiting["matched"]
    assert line["msg"] == "Another application holds the advisory lock, waiting..."
    assert line["level"] == "info"
    assert line["fields"]["tryCount"] == "0"
