# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run chainlink-sim nodes as host processes against a test PostgreSQL.

    node = SimNode.start("2.29.0", pg_server.url(pg_db), free_port())   # lease 2s / refresh 0.5s by default
    node.wait_booted(10)             # -> LogLine(text, at, match); node.app_id is known from then on
    node.terminate(); assert node.wait_exit(10) == 0

In tests use the ``sim_factory`` fixture: ``sim_factory.start(...)`` takes the same arguments (``http_port`` may be
omitted) and stops every node it started when the test ends (SIGTERM, then SIGKILL after ``stop_timeout``).

Config styles: ``"auto"`` is TOML files for 2.x (``node -config F -secrets F start``) and environment variables for
1.x (``local node -p F -a F``); ``"toml"`` on 1.x uses the late-1.x global form ``-c F -s F node start``.
``locking_mode`` sets ``DATABASE_LOCKING_MODE`` (1.x env style only); for TOML ``"none"`` maps to
``Database.Lock.Enabled = false``. ``extra_env`` adds or overrides environment variables (``SIM_*`` fault knobs);
a value of ``None`` removes a variable. ``extra_toml`` (TOML text) is merged key by key into the generated config.

The sim is as strict as the real node: the generated files use only real keys and passwords that meet the real rules.
By default the TLS listener is off (``HTTPSPort = 0`` / ``CHAINLINK_TLS_PORT=0``) and ``SecureCookies`` is false, as
the collection writes them; ``https_port`` and ``secure_cookies=None`` (leave the node's default) change that.

Log lines are read from stderr by a thread and time-stamped with ``time.monotonic()`` on arrival; exit time is
recorded the same way, so tests can measure take-over delays against the same clock.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import tomllib
import typing as t
import uuid
from pathlib import Path

import pytest

from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
SIM_DIR = ROOT / "lab" / "chainlink-sim"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else "python3"

BOOTED_RE = r"Chainlink booted in \d+\.\d\ds"
WAITING_RE = r"waiting for lease to expire|holds the advisory lock, waiting"
LISTENING_RE = r"Listening and serving HTTP on "
LEASE_LOST_RE = r"Another node has taken the lease, exiting immediately"
SHUTDOWN_RE = re.compile(r"Shutting down due to \w+ signal received|exiting immediately")
_BOOTED = re.compile(BOOTED_RE)
_APP_ID_RE = re.compile(r"appID[=\":]+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
API_EMAIL = "sim@example.com"
API_PASSWORD = "sim-api-password-1"
KEYSTORE_PASSWORD = "sim-keystore-Passw0rd!"


@dataclasses.dataclass(frozen=True)
class LogLine:
    """One stderr line, the monotonic time it was read, and (from ``wait_for_line``) the regex match."""

    text: str
    at: float
    match: re.Match[str] | None = None

    def json(self) -> dict[str, t.Any]:
        """The line as a JSON record (only for ``json_logs=True`` nodes)."""
        value = json.loads(self.text)
        if not isinstance(value, dict):
            raise ValueError(f"not a JSON log record: {self.text!r}")
        return value


def _toml_value(value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is a JSON string for what tests write
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def render_toml(tree: t.Mapping[str, t.Any], prefix: str = "") -> str:
    """A nested dict as TOML: scalars first, then sub-tables; lists of tables as ``[[name]]``."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in tree.items() if not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict))]
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out += f"\n[{name}]\n" + render_toml(value, name)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for entry in value:
                out += f"\n[[{name}]]\n" + render_toml(entry, name)
    return out


def merge_tree(base: dict[str, t.Any], overlay: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    out = dict(base)
    for key, value in overlay.items():
        out[key] = merge_tree(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


class SimNode:
    """A running chainlink-sim process and what it has logged so far."""

    def __init__(self, proc: subprocess.Popen[str], workdir: Path, version: str, http_port: int, started_at: float) -> None:
        self.proc = proc
        self.workdir = workdir
        self.version = version
        self.http_port = http_port
        self.started_at = started_at
        self.exited_at: float | None = None
        self._lines: list[LogLine] = []
        self._cond = threading.Condition()
        self._app_id: str | None = None
        self.booted_at: float | None = None
        self.stopping_at: float | None = None
        self._reader = threading.Thread(target=self._read, name=f"sim-{proc.pid}-stderr", daemon=True)
        self._reader.start()

    # -- starting ---------------------------------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        version: str,
        database_url: str,
        http_port: int | None = None,
        *,
        lease_duration: str = "2s",
        refresh: str = "0.5s",
        json_logs: bool = False,
        locking_mode: str | None = None,
        extra_env: t.Mapping[str, str | None] | None = None,
        config_style: str = "auto",
        log_level: str = "info",
        shutdown_grace: str | None = None,
        extra_toml: str = "",
        api_file: bool = True,
        args: list[str] | None = None,
        https_port: int = 0,
        secure_cookies: bool | None = False,
        keystore_password: str = KEYSTORE_PASSWORD,
        api_password: str = API_PASSWORD,
    ) -> SimNode:
        """Start one node. ``args`` replaces the generated command line (the files are still written)."""
        port = free_port() if http_port is None else http_port
        major = int(version.split(".", 1)[0])
        style = ("env" if major < 2 else "toml") if config_style == "auto" else config_style
        if style not in ("env", "toml"):
            raise ValueError(f"config_style must be 'auto', 'env' or 'toml', not {config_style!r}")
        if style == "env" and major >= 2:
            raise ValueError("config_style='env' exists only for 1.x versions; 2.x reads TOML only")
        workdir = Path(tempfile.mkdtemp(prefix="chainlink-sim-"))
        (workdir / "api").write_text(f"{API_EMAIL}\n{api_password}\n")
        (workdir / "password").write_text(keystore_password + "\n")
        env: dict[str, str] = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "PYTHONPATH": str(SIM_DIR),
            "PYTHONUNBUFFERED": "1",
            "CHAINLINK_SIM_VERSION": version,
        }
        start_flags = (["-a", str(workdir / "api")] if api_file else []) + ["-p", str(workdir / "password")]
        if style == "env":
            env.update(
                {
                    "DATABASE_URL": database_url,
                    "LEASE_LOCK_DURATION": lease_duration,
                    "LEASE_LOCK_REFRESH_INTERVAL": refresh,
                    "CHAINLINK_PORT": str(port),
                    "JSON_CONSOLE": "true" if json_logs else "false",
                    "LOG_LEVEL": log_level,
                    "SIM_LISTEN_IP": "127.0.0.1",
                    "ROOT": str(workdir / ".chainlink"),
                    "CHAINLINK_TLS_PORT": str(https_port),
                }
            )
            if secure_cookies is not None:
                env["SECURE_COOKIES"] = str(secure_cookies).lower()
            if shutdown_grace is not None:
                env["SHUTDOWN_GRACE_PERIOD"] = shutdown_grace
            if locking_mode is not None:
                env["DATABASE_LOCKING_MODE"] = locking_mode
            argv = ["local", "node", *start_flags]
        else:
            lock: dict[str, t.Any] = {"LeaseDuration": lease_duration, "LeaseRefreshInterval": refresh}
            if locking_mode not in (None, "lease", "none"):
                raise ValueError(f"locking_mode {locking_mode!r} needs 1.x env config; TOML knows only lease (Enabled) and none")
            if locking_mode == "none":
                lock = {"Enabled": False, **lock}
            web: dict[str, t.Any] = {"HTTPPort": port, "TLS": {"HTTPSPort": https_port}}
            if major >= 2:
                web["ListenIP"] = "127.0.0.1"  # late 1.x has no ListenIP: SIM_LISTEN_IP keeps it on loopback
                web["TLS"]["ListenIP"] = "127.0.0.1"
            else:
                env["SIM_LISTEN_IP"] = "127.0.0.1"
            if secure_cookies is not None:
                web["SecureCookies"] = secure_cookies
            tree: dict[str, t.Any] = {"RootDir": str(workdir / ".chainlink")}
            if shutdown_grace is not None:
                tree["ShutdownGracePeriod"] = shutdown_grace
            tree.update({"Log": {"Level": log_level, "JSONConsole": json_logs}, "Database": {"Lock": lock}, "WebServer": web})
            tree = merge_tree(tree, tomllib.loads(extra_toml))
            (workdir / "config.toml").write_text(render_toml(tree))
            (workdir / "secrets.toml").write_text(f"[Database]\nURL = '{database_url}'\n\n[Password]\nKeystore = '{keystore_password}'\n")
            files = ["-config", str(workdir / "config.toml"), "-secrets", str(workdir / "secrets.toml")]
            argv = [*files, "node", "start", *start_flags] if major < 2 else ["node", *files, "start", *start_flags]
        for key, value in (extra_env or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        started_at = time.monotonic()
        proc = subprocess.Popen(
            [PYTHON, "-m", "chainlink_sim", *(args if args is not None else argv)],
            cwd=str(workdir),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        return cls(proc, workdir, version, port, started_at)

    # -- logs -------------------------------------------------------------------------------------------------------
    def _read(self) -> None:
        stream = self.proc.stderr
        if stream is not None:
            for raw in stream:
                line = LogLine(raw.rstrip("\n"), time.monotonic())
                with self._cond:
                    self._lines.append(line)
                    if self._app_id is None:
                        found = _APP_ID_RE.search(line.text)
                        if found:
                            self._app_id = found[1]
                    if self.booted_at is None and _BOOTED.search(line.text):
                        self.booted_at = line.at
                    if self.stopping_at is None and SHUTDOWN_RE.search(line.text):
                        self.stopping_at = line.at
                    self._cond.notify_all()
        self.proc.wait()
        with self._cond:
            self.exited_at = time.monotonic()
            self._cond.notify_all()

    def log_lines(self) -> list[LogLine]:
        with self._cond:
            return list(self._lines)

    def log_text(self) -> str:
        return "\n".join(line.text for line in self.log_lines())

    def records(self) -> list[dict[str, t.Any]]:
        """Parsed JSON records (``json_logs=True``); non-JSON lines (Go ``log``/CLI errors) are skipped."""
        out = []
        for line in self.log_lines():
            if line.text.startswith("{"):
                out.append(line.json())
        return out

    def wait_for_line(self, pattern: str, timeout: float = 10.0, start: int = 0) -> LogLine:
        """First line at index >= ``start`` matching ``pattern`` (re.search); AssertionError with the log on timeout."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            index = start
            while True:
                while index < len(self._lines):
                    match = regex.search(self._lines[index].text)
                    if match:
                        return dataclasses.replace(self._lines[index], match=match)
                    index += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.exited_at is not None and index >= len(self._lines)):
                    break
                self._cond.wait(min(remaining, 0.5))
        state = f"exited with {self.proc.returncode}" if self.exited_at is not None else "still running"
        raise AssertionError(f"no log line matching {pattern!r} within {timeout}s (node {state}); log:\n{self.log_text()}")

    def count_lines(self, pattern: str) -> int:
        regex = re.compile(pattern)
        return sum(1 for line in self.log_lines() if regex.search(line.text))

    def wait_booted(self, timeout: float = 15.0) -> LogLine:
        return self.wait_for_line(BOOTED_RE, timeout)

    def wait_http(self, timeout: float = 15.0) -> LogLine:
        """The web server accepts connections (it starts after "booted"; a standby never gets here).

        The node logs "Listening and serving HTTP" just before it binds (cmd/shell.go), so the line alone is no proof:
        the port is then polled until it accepts.
        """
        deadline = time.monotonic() + timeout
        line = self.wait_for_line(LISTENING_RE, timeout)
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.http_port), timeout=1.0):
                    return line
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def wait_waiting(self, timeout: float = 10.0) -> LogLine:
        return self.wait_for_line(WAITING_RE, timeout)

    @property
    def app_id(self) -> str | None:
        """The node's app ID (= lease_lock.client_id), once a log line carrying ``appID`` was read."""
        with self._cond:
            return self._app_id

    def wait_app_id(self, timeout: float = 10.0) -> str:
        self.wait_for_line(r"appID", timeout)
        value = self.app_id
        if value is None:
            raise AssertionError(f"no appID in the log:\n{self.log_text()}")
        return value

    @property
    def active(self) -> bool:
        """Booted, not yet shutting down (signal or lost lock), and the process is alive: doing the node's work."""
        return self.booted_at is not None and self.stopping_at is None and self.proc.poll() is None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    # -- stopping ---------------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def terminate(self) -> None:
        """SIGTERM: graceful stop (the lease is released)."""
        self._signal(signal.SIGTERM)

    def interrupt(self) -> None:
        self._signal(signal.SIGINT)

    def kill(self) -> float:
        """SIGKILL (nothing is released). Returns the monotonic time the signal was sent."""
        sent = time.monotonic()
        self._signal(signal.SIGKILL)
        return sent

    def wait_exit(self, timeout: float = 15.0) -> int:
        """The exit status (255 for ``os.Exit(-1)``; negative N when killed by signal N)."""
        code = self.proc.wait(timeout)
        self._reader.join(timeout=5)
        return code

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL if still running after ``timeout``; removes the work directory."""
        self.terminate()
        try:
            code = self.wait_exit(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.wait_exit(10)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return code


class SimFactory:
    """Starts nodes (``SimNode.start`` arguments) and stops them all on ``stop_all``."""

    def __init__(self, stop_timeout: float = 10.0) -> None:
        self.nodes: list[SimNode] = []
        self.stop_timeout = stop_timeout
        self.tag = uuid.uuid4().hex[:8]

    def start(self, version: str, database_url: str, http_port: int | None = None, **kwargs: t.Any) -> SimNode:
        node = SimNode.start(version, database_url, http_port, **kwargs)
        self.nodes.append(node)
        return node

    def stop_all(self) -> None:
        for node in self.nodes:
            node.terminate()
        for node in self.nodes:
            node.stop(self.stop_timeout)


@pytest.fixture
def sim_factory() -> t.Iterator[SimFactory]:
    """Start chainlink-sim processes; every one still running is stopped when the test ends."""
    factory = SimFactory()
    try:
        yield factory
    finally:
        factory.stop_all()
