# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Configuration as the real node reads it: 1.x environment variables, and TOML (late 1.x and all of 2.x).

Only the keys the double acts on are interpreted here; ``schema`` checks beforehand that every key of a TOML file is
one the real decoder knows, with the right type (other known keys, chains included, are accepted and ignored).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
import typing as t
from pathlib import Path

from . import passwords
from .version import Behaviour


def go_ip_string(text: str) -> str | None:
    """``net.ParseIP(text).String()``: Go's form of an IP (an IPv4-mapped IPv6 address prints as IPv4), or None where
    ``ParseIP`` refuses the text (no zones, no leading zeros in IPv4)."""
    if "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def go_listen_address(ip: str, port: int) -> tuple[str, str | None]:
    """``server.run``'s address, ``fmt.Sprintf("%s:%d", ip.String(), port)`` (no brackets), and why Go's listen refuses it
    (None when it can bind): an empty ListenIP decodes to a nil IP, printed ``<nil>``; an IPv6 one has too many colons."""
    shown = go_ip_string(ip) if ip else None
    if shown is None:
        return f"<nil>:{port}", "listen tcp: lookup <nil>: no such host"
    addr = f"{shown}:{port}"
    if ":" in shown:
        return addr, f"listen tcp: address {addr}: too many colons in address"
    return addr, None


NS_PER = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_DUR_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")

LOCKING_MODES = ("dual", "lease", "advisorylock", "none")
LOG_LEVELS = ("debug", "info", "warn", "error", "crit", "panic", "fatal")
DEFAULT_ADVISORY_LOCK_ID = 1027321974924625846

# 2.x refuses to start when any of these is present in the environment, even empty: the real list, as data.
LEGACY_ENV_FILE = Path(__file__).with_name("data") / "legacy.env"
LEGACY_ENV_VARS = tuple(line.strip() for line in LEGACY_ENV_FILE.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#"))
# In legacy.env from v2.0.0 through v2.5.x only (v2.6.0 dropped the Explorer)
LEGACY_ENV_BEFORE_2_6 = ("EXPLORER_ACCESS_KEY", "EXPLORER_SECRET", "EXPLORER_URL")


class ConfigError(Exception):
    """Invalid configuration: the node refuses to boot (before it touches the database)."""


def parse_go_duration(text: str) -> float:
    """Parse a Go ``time.Duration`` string (``10s``, ``500ms``, ``1m30s``) into seconds."""
    raw = text.strip()
    if raw in ("0", "+0", "-0"):
        return 0.0
    sign = -1 if raw.startswith("-") else 1
    body = raw.lstrip("+-")
    pos, total = 0, 0.0
    while pos < len(body):
        match = _DUR_PART.match(body, pos)
        if match is None:
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(match[1]) * NS_PER[match[2]]
        pos = match.end()
    if pos == 0:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total / 1e9


def format_go_duration(seconds: float) -> str:
    """Format seconds the way Go's ``time.Duration.String()`` does (``5s``, ``2.5s``, ``500ms``, ``1m30s``)."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    neg = ns < 0
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size or unit == "ns":
                out = _trim(ns / size) + unit
                break
    else:
        hours, rem = divmod(ns, 3_600_000_000_000)
        minutes, rem = divmod(rem, 60_000_000_000)
        secs = _trim(rem / 1e9) + "s"
        if hours:
            out = f"{hours}h{minutes}m{secs}"
        elif minutes:
            out = f"{minutes}m{secs}"
        else:
            out = secs
    return f"-{out}" if neg else out


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


@dataclasses.dataclass
class Config:
    """Everything the double acts on, with the real node's defaults."""

    database_url: str = ""
    keystore_password: str | None = None
    locking_mode: str = "lease"
    lease_duration: float = 10.0
    lease_refresh: float = 1.0
    advisory_lock_id: int = DEFAULT_ADVISORY_LOCK_ID
    advisory_check_interval: float = 1.0
    default_query_timeout: float = 10.0
    default_lock_timeout: float = 15.0
    default_idle_in_tx_timeout: float = 3600.0
    shutdown_grace: float = 5.0
    http_port: int = 6688
    listen_ip: str = "0.0.0.0"
    log_level: str = "info"
    json_console: bool = False
    unix_ts: bool = False
    root_dir: str = "~/.chainlink"
    migrate_database: bool = True
    env_config: bool = False  # 1.x environment-variable configuration (changes logger names)
    https_port: int = 6689
    tls_listen_ip: str = "0.0.0.0"
    tls_cert_path: str = ""
    tls_key_path: str = ""
    start_timeout: float = 15.0
    secure_cookies: bool = True
    rate_authenticated: int = 1000
    rate_authenticated_period: float = 60.0
    rate_unauthenticated: int = 5
    rate_unauthenticated_period: float = 20.0
    allow_simple_passwords: bool = False
    warnings: list[str] = dataclasses.field(default_factory=list)  # logged at error level once the logger exists

    def tls_files(self) -> tuple[str, str]:
        """``CertFile()`` / ``KeyFile()``: the configured paths, else ``<RootDir>/tls/server.crt`` and ``server.key``."""
        root = os.path.expanduser(self.root_dir)
        cert = self.tls_cert_path or os.path.join(root, "tls", "server.crt")
        key = self.tls_key_path or os.path.join(root, "tls", "server.key")
        return os.path.expanduser(cert), os.path.expanduser(key)


def _env_duration(env: t.Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        return parse_go_duration(value)
    except ValueError as exc:
        raise ConfigError(f"invalid value for {name}: {exc}") from exc


def _env_bool(env: t.Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1", "t"):
        return True
    if value.lower() in ("false", "0", "f"):
        return False
    raise ConfigError(f"invalid value for {name}: {value!r} is not a boolean")


def _env_int(env: t.Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"invalid value for {name}: {value!r} is not an integer") from exc


def from_env_v1(env: t.Mapping[str, str], behaviour: Behaviour) -> Config:
    """1.x environment-variable configuration (``core/config/envvar/schema.go``), validated like ``Validate()``."""
    loopback = env.get("SIM_LISTEN_IP", "127.0.0.1")
    cfg = Config(env_config=True, listen_ip=loopback, tls_listen_ip=loopback)
    cfg.database_url = env.get("DATABASE_URL", "")
    cfg.locking_mode = env.get("DATABASE_LOCKING_MODE") or behaviour.default_env_locking_mode
    cfg.lease_duration = _env_duration(env, "LEASE_LOCK_DURATION", cfg.lease_duration)
    cfg.lease_refresh = _env_duration(env, "LEASE_LOCK_REFRESH_INTERVAL", cfg.lease_refresh)
    cfg.advisory_lock_id = _env_int(env, "ADVISORY_LOCK_ID", cfg.advisory_lock_id)
    cfg.advisory_check_interval = _env_duration(env, "ADVISORY_LOCK_CHECK_INTERVAL", cfg.advisory_check_interval)
    cfg.shutdown_grace = _env_duration(env, "SHUTDOWN_GRACE_PERIOD", cfg.shutdown_grace)
    cfg.http_port = _env_int(env, "CHAINLINK_PORT", cfg.http_port)
    cfg.json_console = _env_bool(env, "JSON_CONSOLE", cfg.json_console)
    cfg.unix_ts = _env_bool(env, "LOG_UNIX_TS", cfg.unix_ts)
    cfg.log_level = (env.get("LOG_LEVEL") or cfg.log_level).lower()
    cfg.root_dir = env.get("ROOT") or cfg.root_dir
    cfg.migrate_database = _env_bool(env, "MIGRATE_DATABASE", cfg.migrate_database)
    cfg.default_query_timeout = _env_duration(env, "DATABASE_DEFAULT_QUERY_TIMEOUT", cfg.default_query_timeout)
    cfg.default_lock_timeout = _env_duration(env, "DATABASE_DEFAULT_LOCK_TIMEOUT", cfg.default_lock_timeout)
    cfg.default_idle_in_tx_timeout = _env_duration(env, "DATABASE_DEFAULT_IDLE_IN_TX_SESSION_TIMEOUT", cfg.default_idle_in_tx_timeout)
    cfg.https_port = _env_int(env, "CHAINLINK_TLS_PORT", cfg.https_port)
    cfg.tls_cert_path = env.get("TLS_CERT_PATH", "")
    cfg.tls_key_path = env.get("TLS_KEY_PATH", "")
    cfg.secure_cookies = _env_bool(env, "SECURE_COOKIES", cfg.secure_cookies)
    cfg.rate_authenticated = _env_int(env, "AUTHENTICATED_RATE_LIMIT", cfg.rate_authenticated)
    cfg.rate_authenticated_period = _env_duration(env, "AUTHENTICATED_RATE_LIMIT_PERIOD", cfg.rate_authenticated_period)
    cfg.rate_unauthenticated = _env_int(env, "UNAUTHENTICATED_RATE_LIMIT", cfg.rate_unauthenticated)
    cfg.rate_unauthenticated_period = _env_duration(env, "UNAUTHENTICATED_RATE_LIMIT_PERIOD", cfg.rate_unauthenticated_period)
    validate_v1(cfg)
    cfg.warnings.extend(db_password_warning_v1(env, cfg.database_url))
    return cfg


def db_password_warning_v1(env: t.Mapping[str, str], database_url: str) -> list[str]:
    """Late 1.x env config only warns about a simple database password (``generalConfig.Validate``), unless
    ``CHAINLINK_DEV`` or ``SKIP_DATABASE_PASSWORD_COMPLEXITY_CHECK`` is true; TOML secrets (1.10+) refuse it."""
    skip = env.get("SKIP_DATABASE_PASSWORD_COMPLEXITY_CHECK", "")
    if skip and skip.lower() not in ("true", "false", "1", "0", "t", "f"):
        raise ConfigError(f"SKIP_DATABASE_PASSWORD_COMPLEXITY_CHECK has invalid value for bool: {skip}")
    if skip.lower() in ("true", "1", "t") or env.get("CHAINLINK_DEV", "").lower() in ("true", "1", "t"):
        return []
    problem = passwords.db_url_problem(database_url, v1=True)
    if problem is None:
        return []
    return [
        f"DEPRECATION WARNING: Database has missing or insufficiently complex password: {problem}.\n"
        f"Database should be secured by a password matching the following complexity requirements:\n{passwords.requirements(True)}\n"
        "This error will PREVENT BOOT in a future version of Chainlink. To bypass this check at your own risk, you may set "
        "SKIP_DATABASE_PASSWORD_COMPLEXITY_CHECK=true\n\n"
    ]


def validate_v1(cfg: Config) -> None:
    """The checks of ``generalConfig.Validate()`` in 1.x that concern the lock, with the real messages."""
    if cfg.locking_mode not in LOCKING_MODES:
        raise ConfigError(f"unrecognised value for DATABASE_LOCKING_MODE: {cfg.locking_mode} (valid options are 'dual', 'lease', 'advisorylock' or 'none')")
    if cfg.lease_refresh > cfg.lease_duration / 2:
        raise ConfigError(
            "LEASE_LOCK_REFRESH_INTERVAL must be less than or equal to half of LEASE_LOCK_DURATION "
            f"(got LEASE_LOCK_REFRESH_INTERVAL={format_go_duration(cfg.lease_refresh)} and LEASE_LOCK_DURATION={format_go_duration(cfg.lease_duration)})"
        )
    if cfg.log_level not in LOG_LEVELS:
        raise ConfigError(f"invalid value for LOG_LEVEL: {cfg.log_level!r} (valid options are {', '.join(LOG_LEVELS)})")
    if not cfg.database_url:
        raise ConfigError("you must set DATABASE_URL env variable or provide a secrets TOML with Database.URL set")


def merge_toml(base: dict[str, t.Any], overlay: dict[str, t.Any]) -> dict[str, t.Any]:
    """Later config files override earlier ones key by key, as the node's ``SetFrom`` does."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_toml(out[key], value)
        else:
            out[key] = value
    return out


def load_toml_text(text: str, what: str) -> dict[str, t.Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"failed to decode {what} TOML: {exc}") from exc


def load_toml_file(path: str, what: str) -> dict[str, t.Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(f"failed to read {what} from {path}: {exc.strerror}") from exc
    return load_toml_text(text, what)


def _get(tree: dict[str, t.Any], dotted: str) -> t.Any:
    node: t.Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


class _TomlReader:
    """Typed access to a TOML tree that collects every problem, like the node's multi-error validation."""

    def __init__(self, tree: dict[str, t.Any]) -> None:
        self.tree = tree
        self.errors: list[str] = []

    def duration(self, key: str, default: float) -> float:
        value = _get(self.tree, key)
        if value is None:
            return default
        if not isinstance(value, str):
            self.errors.append(f"{key}: invalid value ({value!r}): must be a duration string such as '10s'")
            return default
        try:
            return parse_go_duration(value)
        except ValueError as exc:
            self.errors.append(f"{key}: invalid value ({value}): {exc}")
            return default

    def boolean(self, key: str, default: bool) -> bool:
        value = _get(self.tree, key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.errors.append(f"{key}: invalid value ({value!r}): must be true or false")
            return default
        return value

    def integer(self, key: str, default: int) -> int:
        value = _get(self.tree, key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors.append(f"{key}: invalid value ({value!r}): must be an integer")
            return default
        return value

    def string(self, key: str, default: str) -> str:
        value = _get(self.tree, key)
        if value is None:
            return default
        if not isinstance(value, str):
            self.errors.append(f"{key}: invalid value ({value!r}): must be a string")
            return default
        return value


def _multi(errors: list[str]) -> str:
    if len(errors) == 1:
        return errors[0]
    return f"{len(errors)} errors:\n" + "\n".join(f"\t- {e}" for e in errors)


def from_toml(config_tree: dict[str, t.Any], secrets_tree: dict[str, t.Any], env: t.Mapping[str, str], behaviour: Behaviour) -> Config:
    """TOML configuration (``core/config/docs/core.toml``), validated like the node, secrets overridable from env."""
    cfg = Config()
    conf = _TomlReader(config_tree)
    if not behaviour.toml_lock_has_enabled and _get(config_tree, "Database.Lock.Enabled") is not None:
        # v1.10.0's Database.Lock had only the two durations; its strict decoder rejects the key.
        conf.errors.append("Database.Lock.Enabled: unknown key: not supported before v1.11.0 (remove it; the lock is always a lease here)")
    enabled = conf.boolean("Database.Lock.Enabled", True)
    cfg.locking_mode = "lease" if enabled else "none"
    cfg.lease_duration = conf.duration("Database.Lock.LeaseDuration", cfg.lease_duration)
    cfg.lease_refresh = conf.duration("Database.Lock.LeaseRefreshInterval", cfg.lease_refresh)
    cfg.default_query_timeout = conf.duration("Database.DefaultQueryTimeout", cfg.default_query_timeout)
    cfg.default_lock_timeout = conf.duration("Database.DefaultLockTimeout", cfg.default_lock_timeout)
    cfg.default_idle_in_tx_timeout = conf.duration("Database.DefaultIdleInTxSessionTimeout", cfg.default_idle_in_tx_timeout)
    cfg.migrate_database = conf.boolean("Database.MigrateOnStartup", cfg.migrate_database)
    cfg.shutdown_grace = conf.duration("ShutdownGracePeriod", cfg.shutdown_grace)
    cfg.root_dir = conf.string("RootDir", cfg.root_dir)
    cfg.http_port = conf.integer("WebServer.HTTPPort", cfg.http_port)
    if behaviour.is_v1:
        # Late 1.x has no WebServer.ListenIP (it binds every address); the double binds loopback, as with env config.
        cfg.listen_ip = cfg.tls_listen_ip = env.get("SIM_LISTEN_IP", "127.0.0.1")
    cfg.listen_ip = conf.string("WebServer.ListenIP", cfg.listen_ip)
    cfg.secure_cookies = conf.boolean("WebServer.SecureCookies", cfg.secure_cookies)
    cfg.start_timeout = conf.duration("WebServer.StartTimeout", cfg.start_timeout)
    cfg.https_port = conf.integer("WebServer.TLS.HTTPSPort", cfg.https_port)
    cfg.tls_listen_ip = conf.string("WebServer.TLS.ListenIP", cfg.tls_listen_ip)
    cfg.tls_cert_path = conf.string("WebServer.TLS.CertPath", cfg.tls_cert_path)
    cfg.tls_key_path = conf.string("WebServer.TLS.KeyPath", cfg.tls_key_path)
    cfg.rate_authenticated = conf.integer("WebServer.RateLimit.Authenticated", cfg.rate_authenticated)
    cfg.rate_authenticated_period = conf.duration("WebServer.RateLimit.AuthenticatedPeriod", cfg.rate_authenticated_period)
    cfg.rate_unauthenticated = conf.integer("WebServer.RateLimit.Unauthenticated", cfg.rate_unauthenticated)
    cfg.rate_unauthenticated_period = conf.duration("WebServer.RateLimit.UnauthenticatedPeriod", cfg.rate_unauthenticated_period)
    cfg.log_level = conf.string("Log.Level", cfg.log_level).lower()
    cfg.json_console = conf.boolean("Log.JSONConsole", cfg.json_console)
    cfg.unix_ts = conf.boolean("Log.UnixTS", cfg.unix_ts)
    if cfg.log_level not in LOG_LEVELS:
        conf.errors.append(f"Log.Level: invalid value ({cfg.log_level}): must be one of {', '.join(LOG_LEVELS)}")
    if cfg.lease_refresh > cfg.lease_duration / 2:
        conf.errors.append(
            f"Database.Lock.LeaseRefreshInterval: invalid value ({format_go_duration(cfg.lease_refresh)}): "
            f"must be less than or equal to half of LeaseDuration ({format_go_duration(cfg.lease_duration)})"
        )
    for key, port in (("WebServer.HTTPPort", cfg.http_port), ("WebServer.TLS.HTTPSPort", cfg.https_port)):
        if not 0 <= port <= 65535:
            conf.errors.append(f"{key}: invalid value ({port}): must be a TCP port")
    if conf.errors:
        raise ConfigError(f"invalid configuration: {_multi(conf.errors)}")

    sec = _TomlReader(secrets_tree)
    cfg.database_url = env.get("CL_DATABASE_URL") or sec.string("Database.URL", "")
    keystore = env.get("CL_PASSWORD_KEYSTORE") or sec.string("Password.Keystore", "")
    cfg.keystore_password = keystore or None
    allow_env = env.get("CL_DATABASE_ALLOW_SIMPLE_PASSWORDS")
    cfg.allow_simple_passwords = sec.boolean("Database.AllowSimplePasswords", False) if not allow_env else allow_env.lower() in ("true", "1", "t")
    v1 = behaviour.is_v1
    if not cfg.database_url:
        sec.errors.append("Database.URL: empty: must be provided and non-empty")
    elif cfg.allow_simple_passwords:
        # A release build (which the images are) refuses the switch itself (DatabaseSecrets.validateConfig).
        sec.errors.append("Database.AllowSimplePasswords: invalid value (true): insecure configs are not allowed on secure builds")
    else:
        problem = passwords.db_url_problem(cfg.database_url, v1)
        if problem is not None:
            sec.errors.append(f"Database.URL: invalid value (*****): {passwords.db_url_complexity_message(problem, v1)}")
    backup = sec.string("Database.BackupURL", "") or env.get("CL_DATABASE_BACKUP_URL", "")
    if backup and not cfg.allow_simple_passwords:
        problem = passwords.db_url_problem(backup, v1)
        if problem is not None:
            sec.errors.append(f"Database.BackupURL: invalid value (*****): {passwords.db_url_complexity_message(problem, v1)}")
    if cfg.keystore_password is None:
        sec.errors.append("Password.Keystore: empty: must be provided and non-empty")
    if sec.errors:
        raise ConfigError(f"invalid secrets: {_multi(sec.errors)}")
    return cfg


def check_legacy_env(env: t.Mapping[str, str], behaviour: Behaviour) -> None:
    """2.x ``validateEnv()``: a legacy variable that is present at all (even empty) fails config validation."""
    names = LEGACY_ENV_VARS + (() if behaviour.version.at_least(2, 6) else LEGACY_ENV_BEFORE_2_6)
    for name in names:
        if name in env:
            raise ConfigError(f"invalid configuration: environment variable {name} must not be set: unsupported with config v2")


def env_flag(env: t.Mapping[str, str], name: str) -> bool:
    return env.get(name, "").lower() in ("1", "true", "yes", "on")


def env_seconds(env: t.Mapping[str, str], name: str) -> float:
    """A ``SIM_*`` knob in seconds: a plain number (``2.5``) or a Go duration (``2500ms``); unset or empty means 0."""
    value = env.get(name, "").strip()
    if not value:
        return 0.0
    try:
        return float(value)
    except ValueError:
        try:
            return parse_go_duration(value)
        except ValueError as exc:
            raise ConfigError(f"invalid value for {name}: {value!r} (give seconds, e.g. 2.5, or a duration, e.g. 2500ms)") from exc


def resolved(environ: t.Mapping[str, str] | None = None) -> dict[str, str]:
    return dict(os.environ if environ is None else environ)
