# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""The rules a real Chainlink node applies to its configuration at boot, as pure functions over an instance's settings.

Facts (read in smartcontractkit/chainlink; see chainlink-node.md section 10):
- core/config/toml/types.go (validateDBURL, DatabaseSecrets.validateConfig): the database URL must carry a password,
  taken from the query's first ``password`` value, else from the userinfo; a URL whose redacted form (userinfo password
  replaced) contains ``_test`` is exempt; the password must pass VerifyPasswordComplexity. ``AllowSimplePasswords = true``
  skips that on dev builds and is itself an error on release builds ("insecure configs are not allowed on secure builds").
  BackupURL follows the same rule.
- core/utils/password.go (VerifyPasswordComplexity): at least 16 characters, no leading or trailing whitespace, and none
  of the disallowed strings (case-insensitive). The keystore password meets it when the keystore is created; an API user's
  password (core/sessions/user.go, core/web/user_controller.go) also at most 50 characters and not containing the email.
- core/services/chainlink/legacy.env and validateEnv(): a 2.x node (TOML configuration) refuses to boot when any of the
  listed 1.x variables is present in its environment, even empty.
- After ShutdownGracePeriod the node still releases its lease, bounded by Database.DefaultQueryTimeout (10 s), before it
  exits: a Docker stop timeout below their sum (plus a margin) can SIGKILL it before the release.
- Duration settings (LeaseDuration, ShutdownGracePeriod, ...; the 1.x environment's too) are read with Go's
  time.ParseDuration, which refuses a bare number but 0, and Chainlink's config Duration (MakeDuration) refuses a
  negative one: parse_duration is the collection's one reader of them (filters duration_seconds, duration_problems).
- core/config/toml/types.go (WebServer.ListenIP, WebServer.TLS.ListenIP, from 2.3.0): a ``*net.IP`` decoded with
  net.IP.UnmarshalText, so a value that is not an IP fails the decode (``invalid IP address: <value>``) and an empty
  one decodes to no address; core/cmd/shell.go (server.run) listens on ``fmt.Sprintf("%s:%d", ip.String(), port)``,
  without brackets, so an IPv6 address (``too many colons in address``) or no address (``<nil>``) never listens.
  The default is 0.0.0.0; before 2.3.0, and with 1.x environment configuration, the node listens on every address.

Every message names the rule and the fix, never a secret's value.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import typing as t
import urllib.parse

PASSWORD_MIN_LENGTH = 16
API_PASSWORD_MAX_LENGTH = 50
DEFAULT_QUERY_TIMEOUT = "10s"
DEFAULT_SHUTDOWN_GRACE_PERIOD = "5s"
# Seconds on top of grace period + query timeout, for the process to exit after its release
STOP_TIMEOUT_MARGIN = 5

# The 1.x variables a 2.x node refuses in its environment (core/services/chainlink/legacy.env @v2.29.0), kept as data so
# that a new release's list is a data change.
LEGACY_ENV: frozenset[str] = frozenset(
    [
        "DATABASE_URL",
        "ETH_MIN_GAS_PRICE_WEI",
        "AUDIT_LOGGER_ENABLED",
        "AUDIT_LOGGER_FORWARD_TO_URL",
        "AUDIT_LOGGER_HEADERS",
        "AUDIT_LOGGER_JSON_WRAPPER_KEY",
        "CHAIN_TYPE",
        "CHAINLINK_DEV",
        "FLAGS_CONTRACT_ADDRESS",
        "INSECURE_FAST_SCRYPT",
        "REAPER_EXPIRATION",
        "ROOT",
        "TELEMETRY_INGRESS_UNICONN",
        "TELEMETRY_INGRESS_LOGGING",
        "TELEMETRY_INGRESS_SERVER_PUB_KEY",
        "TELEMETRY_INGRESS_URL",
        "TELEMETRY_INGRESS_BUFFER_SIZE",
        "TELEMETRY_INGRESS_MAX_BATCH_SIZE",
        "TELEMETRY_INGRESS_SEND_INTERVAL",
        "TELEMETRY_INGRESS_SEND_TIMEOUT",
        "TELEMETRY_INGRESS_USE_BATCH_SEND",
        "SHUTDOWN_GRACE_PERIOD",
        "DATABASE_LISTENER_MAX_RECONNECT_DURATION",
        "DATABASE_LISTENER_MIN_RECONNECT_INTERVAL",
        "MIGRATE_DATABASE",
        "ORM_MAX_IDLE_CONNS",
        "ORM_MAX_OPEN_CONNS",
        "TRIGGER_FALLBACK_DB_POLL_INTERVAL",
        "ADVISORY_LOCK_CHECK_INTERVAL",
        "ADVISORY_LOCK_ID",
        "DATABASE_LOCKING_MODE",
        "LEASE_LOCK_DURATION",
        "LEASE_LOCK_REFRESH_INTERVAL",
        "DATABASE_BACKUP_DIR",
        "DATABASE_BACKUP_FREQUENCY",
        "DATABASE_BACKUP_MODE",
        "DATABASE_BACKUP_ON_VERSION_UPGRADE",
        "DATABASE_BACKUP_URL",
        "JSON_CONSOLE",
        "LOG_FILE_DIR",
        "LOG_LEVEL",
        "LOG_SQL",
        "LOG_FILE_MAX_SIZE",
        "LOG_FILE_MAX_AGE",
        "LOG_FILE_MAX_BACKUPS",
        "LOG_UNIX_TS",
        "ALLOW_ORIGINS",
        "AUTHENTICATED_RATE_LIMIT",
        "AUTHENTICATED_RATE_LIMIT_PERIOD",
        "BRIDGE_CACHE_TTL",
        "BRIDGE_RESPONSE_URL",
        "HTTP_SERVER_WRITE_TIMEOUT",
        "CHAINLINK_PORT",
        "SECURE_COOKIES",
        "SESSION_TIMEOUT",
        "UNAUTHENTICATED_RATE_LIMIT",
        "UNAUTHENTICATED_RATE_LIMIT_PERIOD",
        "MFA_RPID",
        "MFA_RPORIGIN",
        "TLS_CERT_PATH",
        "CHAINLINK_TLS_HOST",
        "TLS_KEY_PATH",
        "CHAINLINK_TLS_PORT",
        "CHAINLINK_TLS_REDIRECT",
        "FEATURE_FEEDS_MANAGER",
        "FEATURE_UI_CSA_KEYS",
        "FEATURE_LOG_POLLER",
        "EVM_ENABLED",
        "EVM_RPC_ENABLED",
        "SOLANA_ENABLED",
        "SOLANA_NODES",
        "STARKNET_ENABLED",
        "STARKNET_NODES",
        "TERRA_ENABLED",
        "TERRA_NODES",
        "ETH_HTTP_URL",
        "EVM_NODES",
        "ETH_SECONDARY_URL",
        "ETH_SECONDARY_URLS",
        "ETH_URL",
        "ETH_CHAIN_ID",
        "BALANCE_MONITOR_ENABLED",
        "BLOCK_BACKFILL_DEPTH",
        "BLOCK_BACKFILL_SKIP",
        "BLOCK_EMISSION_IDLE_WARNING_THRESHOLD",
        "ETH_TX_REAPER_INTERVAL",
        "ETH_TX_REAPER_THRESHOLD",
        "ETH_TX_RESEND_AFTER_THRESHOLD",
        "ETH_FINALITY_DEPTH",
        "ETH_HEAD_TRACKER_HISTORY_DEPTH",
        "ETH_HEAD_TRACKER_MAX_BUFFER_SIZE",
        "ETH_HEAD_TRACKER_SAMPLING_INTERVAL",
        "ETH_LOG_BACKFILL_BATCH_SIZE",
        "ETH_LOG_POLL_INTERVAL",
        "ETH_LOG_KEEP_BLOCKS_DEPTH",
        "ETH_RPC_DEFAULT_BATCH_SIZE",
        "LINK_CONTRACT_ADDRESS",
        "OPERATOR_FACTORY_ADDRESS",
        "MIN_INCOMING_CONFIRMATIONS",
        "MINIMUM_CONTRACT_PAYMENT_LINK_JUELS",
        "NODE_NO_NEW_HEADS_THRESHOLD",
        "NODE_POLL_FAILURE_THRESHOLD",
        "NODE_POLL_INTERVAL",
        "NODE_SELECTION_MODE",
        "NODE_SYNC_THRESHOLD",
        "EVM_EIP1559_DYNAMIC_FEES",
        "ETH_GAS_BUMP_PERCENT",
        "ETH_GAS_BUMP_THRESHOLD",
        "ETH_GAS_BUMP_WEI",
        "EVM_GAS_FEE_CAP_DEFAULT",
        "ETH_GAS_LIMIT_DEFAULT",
        "ETH_GAS_LIMIT_MAX",
        "ETH_GAS_LIMIT_MULTIPLIER",
        "ETH_GAS_LIMIT_TRANSFER",
        "ETH_GAS_PRICE_DEFAULT",
        "ETH_MAX_GAS_PRICE_WEI",
        "EVM_GAS_TIP_CAP_DEFAULT",
        "EVM_GAS_TIP_CAP_MINIMUM",
        "ETH_GAS_LIMIT_OCR_JOB_TYPE",
        "ETH_GAS_LIMIT_DR_JOB_TYPE",
        "ETH_GAS_LIMIT_VRF_JOB_TYPE",
        "ETH_GAS_LIMIT_FM_JOB_TYPE",
        "ETH_GAS_LIMIT_KEEPER_JOB_TYPE",
        "GAS_ESTIMATOR_MODE",
        "BLOCK_HISTORY_ESTIMATOR_BATCH_SIZE",
        "BLOCK_HISTORY_ESTIMATOR_BLOCK_DELAY",
        "BLOCK_HISTORY_ESTIMATOR_BLOCK_HISTORY_SIZE",
        "BLOCK_HISTORY_ESTIMATOR_CHECK_INCLUSION_BLOCKS",
        "BLOCK_HISTORY_ESTIMATOR_CHECK_INCLUSION_PERCENTILE",
        "BLOCK_HISTORY_ESTIMATOR_EIP1559_FEE_CAP_BUFFER_BLOCKS",
        "BLOCK_HISTORY_ESTIMATOR_TRANSACTION_PERCENTILE",
        "ETH_GAS_BUMP_TX_DEPTH",
        "ETH_MAX_IN_FLIGHT_TRANSACTIONS",
        "ETH_MAX_QUEUED_TRANSACTIONS",
        "ETH_NONCE_AUTO_SYNC",
        "ETH_USE_FORWARDERS",
        "DEFAULT_HTTP_LIMIT",
        "DEFAULT_HTTP_TIMEOUT",
        "FEATURE_EXTERNAL_INITIATORS",
        "JOB_PIPELINE_MAX_RUN_DURATION",
        "JOB_PIPELINE_MAX_SUCCESSFUL_RUNS",
        "JOB_PIPELINE_REAPER_INTERVAL",
        "JOB_PIPELINE_REAPER_THRESHOLD",
        "JOB_PIPELINE_RESULT_WRITE_QUEUE_DEPTH",
        "FM_DEFAULT_TRANSACTION_QUEUE_DEPTH",
        "FM_SIMULATE_TRANSACTIONS",
        "FEATURE_OFFCHAIN_REPORTING2",
        "OCR2_AUTOMATION_GAS_LIMIT",
        "OCR2_CAPTURE_EA_TELEMETRY",
        "OCR2_CONTRACT_CONFIRMATIONS",
        "OCR2_BLOCKCHAIN_TIMEOUT",
        "OCR2_CONTRACT_POLL_INTERVAL",
        "OCR2_CONTRACT_SUBSCRIBE_INTERVAL",
        "OCR2_CONTRACT_TRANSMITTER_TRANSMIT_TIMEOUT",
        "OCR2_DATABASE_TIMEOUT",
        "OCR2_KEY_BUNDLE_ID",
        "FEATURE_OFFCHAIN_REPORTING",
        "OCR_CAPTURE_EA_TELEMETRY",
        "OCR_CONTRACT_CONFIRMATIONS",
        "OCR_CONTRACT_TRANSMITTER_TRANSMIT_TIMEOUT",
        "OCR_DATABASE_TIMEOUT",
        "OCR_OBSERVATION_GRACE_PERIOD",
        "OCR_OBSERVATION_TIMEOUT",
        "OCR_BLOCKCHAIN_TIMEOUT",
        "OCR_CONTRACT_POLL_INTERVAL",
        "OCR_CONTRACT_SUBSCRIBE_INTERVAL",
        "OCR_DEFAULT_TRANSACTION_QUEUE_DEPTH",
        "OCR_KEY_BUNDLE_ID",
        "OCR_SIMULATE_TRANSACTIONS",
        "OCR_TRACE_LOGGING",
        "OCR_TRANSMITTER_ADDRESS",
        "P2P_NETWORKING_STACK",
        "P2P_INCOMING_MESSAGE_BUFFER_SIZE",
        "P2P_OUTGOING_MESSAGE_BUFFER_SIZE",
        "P2P_ANNOUNCE_IP",
        "P2P_ANNOUNCE_PORT",
        "P2P_BOOTSTRAP_CHECK_INTERVAL",
        "P2P_BOOTSTRAP_PEERS",
        "P2P_DHT_ANNOUNCEMENT_COUNTER_USER_PREFIX",
        "P2P_DHT_LOOKUP_INTERVAL",
        "P2P_LISTEN_IP",
        "P2P_LISTEN_PORT",
        "P2P_NEW_STREAM_TIMEOUT",
        "P2P_PEER_ID",
        "P2P_PEERSTORE_WRITE_INTERVAL",
        "P2PV2_ANNOUNCE_ADDRESSES",
        "P2PV2_BOOTSTRAPPERS",
        "P2PV2_DELTA_DIAL",
        "P2PV2_DELTA_RECONCILE",
        "P2PV2_LISTEN_ADDRESSES",
        "OCR_OUTGOING_MESSAGE_BUFFER_SIZE",
        "OCR_INCOMING_MESSAGE_BUFFER_SIZE",
        "OCR_DHT_LOOKUP_INTERVAL",
        "OCR_BOOTSTRAP_CHECK_INTERVAL",
        "OCR_NEW_STREAM_TIMEOUT",
        "KEEPER_DEFAULT_TRANSACTION_QUEUE_DEPTH",
        "KEEPER_GAS_PRICE_BUFFER_PERCENT",
        "KEEPER_GAS_TIP_CAP_BUFFER_PERCENT",
        "KEEPER_BASE_FEE_BUFFER_PERCENT",
        "KEEPER_MAXIMUM_GRACE_PERIOD",
        "KEEPER_REGISTRY_CHECK_GAS_OVERHEAD",
        "KEEPER_REGISTRY_PERFORM_GAS_OVERHEAD",
        "KEEPER_REGISTRY_MAX_PERFORM_DATA_SIZE",
        "KEEPER_REGISTRY_SYNC_INTERVAL",
        "KEEPER_REGISTRY_SYNC_UPKEEP_QUEUE_SIZE",
        "KEEPER_TURN_LOOK_BACK",
        "AUTO_PPROF_ENABLED",
        "AUTO_PPROF_PROFILE_ROOT",
        "AUTO_PPROF_POLL_INTERVAL",
        "AUTO_PPROF_GATHER_DURATION",
        "AUTO_PPROF_GATHER_TRACE_DURATION",
        "AUTO_PPROF_MAX_PROFILE_SIZE",
        "AUTO_PPROF_CPU_PROFILE_RATE",
        "AUTO_PPROF_MEM_PROFILE_RATE",
        "AUTO_PPROF_BLOCK_PROFILE_RATE",
        "AUTO_PPROF_MUTEX_PROFILE_FRACTION",
        "AUTO_PPROF_MEM_THRESHOLD",
        "AUTO_PPROF_GOROUTINE_THRESHOLD",
        "PYROSCOPE_AUTH_TOKEN",
        "PYROSCOPE_SERVER_ADDRESS",
        "PYROSCOPE_ENVIRONMENT",
        "DATABASE_DEFAULT_IDLE_IN_TX_SESSION_TIMEOUT",
        "DATABASE_DEFAULT_LOCK_TIMEOUT",
        "DATABASE_DEFAULT_QUERY_TIMEOUT",
        "SENTRY_DSN",
        "SENTRY_DEBUG",
        "SENTRY_ENVIRONMENT",
        "SENTRY_RELEASE",
        "GAS_UPDATER_ENABLED",
        "GAS_UPDATER_BATCH_SIZE",
        "GAS_UPDATER_BLOCK_DELAY",
        "GAS_UPDATER_BLOCK_HISTORY_SIZE",
        "GAS_UPDATER_TRANSACTION_PERCENTILE",
        "PROMETHEUS_AUTH_TOKEN",
    ]
)

# The 1.x environment's name for Database.DefaultQueryTimeout
LEGACY_QUERY_TIMEOUT_ENV = "DATABASE_DEFAULT_QUERY_TIMEOUT"

# time.ParseDuration's units in nanoseconds (µ is U+00B5 MICRO SIGN, μ U+03BC GREEK SMALL LETTER MU: Go takes both)
_DURATION_UNITS_NS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
# One [0-9]*(.[0-9]*)? amount (at least one digit) and the run of non-digits after it (the unit, checked against the map)
_DURATION_PART = re.compile(r"([0-9]*)(?:[.]([0-9]*))?([^0-9.]*)")
_DURATION_MAX_NS = (1 << 63) - 1
_DURATION_FIX = "write it like 10s, 500ms or 1m30s"
_WHITESPACE = " \t\n\r\v\f"


class RuleError(ValueError):
    """A setting the rules cannot read (its type or syntax), with a message naming it and the fix."""


# -- durations ------------------------------------------------------------------------------------------------------


_MAJOR = re.compile(r"^v?([0-9]+)[.]")


def config_format(version: t.Any, requested: t.Any = "auto") -> str:
    """How an instance is configured: ``toml`` (2.x always; 1.x when asked) or ``env`` (1.x's environment variables).

    requested: chainlink_config_format, ``auto`` (by the version), ``toml`` or ``env``. The one rule the node role (which
    writes the files) and the handover (which reads where a setting lives) share.
    """
    if requested in ("toml", "env"):
        return str(requested)
    match = _MAJOR.match(str(version or ""))
    return "toml" if match and int(match.group(1)) >= 2 else "env"


LOCKS_BY_MODE = {"advisorylock": ("advisory",), "lease": ("lease",), "dual": ("lease", "advisory"), "none": ()}


def locks_taken(version: t.Any, requested_format: t.Any = "auto", locking_mode: t.Any = "dual") -> tuple[str, ...]:
    """The locks a node of ``version`` with these settings takes before it boots, and so the only ones it obeys.

    2.x knows only the lease (core/services/pg/locked_db.go @v2.29.0 has one case, "lease"); so does a 1.x node
    configured by TOML (no locking mode there). A 1.x node configured by environment follows DATABASE_LOCKING_MODE
    (locked_db.go @v1.11.0): advisorylock only the advisory lock, lease only the lease, dual both. Modes that share no
    lock do not see each other: the node started second finds its lock free and boots beside the first.
    """
    if config_format(version, requested_format) == "toml":
        return ("lease",)
    return LOCKS_BY_MODE.get(str(locking_mode), ())


def parse_duration(value: t.Any, name: str) -> float:
    """A duration setting as the node reads it, in seconds; RuleError (naming ``name`` and the fix) when the node would not.

    The syntax is Go's time.ParseDuration: ``[-+]?([0-9]*(.[0-9]*)?unit)+`` with units ns, us, µs (or μs), ms, s, m, h,
    e.g. 10s, 500ms, 1h2m3.5s; no spaces; a bare number is refused, except 0. Chainlink's configuration type
    (commonconfig.Duration, MakeDuration) also refuses a negative duration. Computed in whole nanoseconds like Go
    (a fraction below 1 ns is dropped); a total above Go's int64 limit (about 2562047h) is refused.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RuleError(f"{name} is {value!r}, not a duration: {_DURATION_FIX}")
    text = str(value)
    body = text[1:] if text[:1] in ("-", "+") else text
    if body == "0":
        return 0.0
    if re.fullmatch(r"[0-9]*[.]?[0-9]+", body):
        raise RuleError(f"{name} '{text}' has no unit (the node refuses a bare number, only 0 may go without one): write it with a unit, like {body}s")
    total = 0
    pos = 0
    while pos == 0 or pos < len(body):
        match = _DURATION_PART.match(body, pos)  # always matches (every part is optional), so each pass reads or refuses
        if match is None or not (match.group(1) or match.group(2)) or match.group(3) not in _DURATION_UNITS_NS:
            raise RuleError(f"{name} '{text}' is not a Go duration: {_DURATION_FIX}")
        whole, fraction, size = match.group(1) or "0", match.group(2) or "", _DURATION_UNITS_NS[match.group(3)]
        total += int(whole) * size + int(fraction or "0") * size // 10 ** len(fraction)
        if total > _DURATION_MAX_NS:
            raise RuleError(f"{name} '{text}' is too long for a Go duration (at most about 2562047h): {_DURATION_FIX}")
        pos = match.end()
    if text.startswith("-") and total > 0:
        raise RuleError(f"{name} '{text}' is negative, which the node refuses: {_DURATION_FIX}")
    return total / 1e9


def duration_problems(durations: t.Mapping[str, t.Any]) -> list[str]:
    """One message per value of ``durations`` (variable name -> duration) that parse_duration refuses."""
    problems = []
    for name, value in durations.items():
        try:
            parse_duration(value, str(name))
        except RuleError as exc:
            problems.append(str(exc))
    return problems


def _lookup(tree: t.Any, path: tuple[str, ...]) -> t.Any:
    for key in path:
        if not isinstance(tree, t.Mapping) or key not in tree:
            return None
        tree = tree[key]
    return tree


def query_timeout(config_format: str, config_extra: t.Any = None, env_extra: t.Any = None) -> tuple[float, str]:
    """Database.DefaultQueryTimeout in seconds and where it came from (TOML extra, 1.x environment, or the default)."""
    if config_format == "toml":
        value = _lookup(config_extra, ("Database", "DefaultQueryTimeout"))
        if value is not None:
            return parse_duration(value, "chainlink_config_extra Database.DefaultQueryTimeout"), "Database.DefaultQueryTimeout"
    elif isinstance(env_extra, t.Mapping) and env_extra.get(LEGACY_QUERY_TIMEOUT_ENV) not in (None, ""):
        return parse_duration(env_extra[LEGACY_QUERY_TIMEOUT_ENV], f"chainlink_env_extra {LEGACY_QUERY_TIMEOUT_ENV}"), LEGACY_QUERY_TIMEOUT_ENV
    return parse_duration(DEFAULT_QUERY_TIMEOUT, "DEFAULT_QUERY_TIMEOUT"), f"Database.DefaultQueryTimeout (default {DEFAULT_QUERY_TIMEOUT})"


def stop_timeout_minimum(grace_seconds: float, query_seconds: float) -> int:
    """The smallest Docker stop timeout (whole seconds) that lets the node release its lease after its grace period."""
    total = grace_seconds + query_seconds + STOP_TIMEOUT_MARGIN
    return int(total) if total == int(total) else int(total) + 1


def stop_timeout_problems(
    stop_timeout: t.Any,
    name: str,
    grace_period: t.Any = DEFAULT_SHUTDOWN_GRACE_PERIOD,
    config_format: str = "toml",
    config_extra: t.Any = None,
    env_extra: t.Any = None,
) -> list[str]:
    """A Docker stop timeout below ShutdownGracePeriod + Database.DefaultQueryTimeout + margin, as a problem list."""
    try:
        grace = parse_duration(grace_period, "chainlink_shutdown_grace_period")
        query, source = query_timeout(config_format, config_extra, env_extra)
    except RuleError as exc:
        return [str(exc)]
    try:
        seconds = float(stop_timeout)
    except (TypeError, ValueError):
        return [f"{name} '{stop_timeout}' is not a number of seconds: set chainlink_stop_timeout to a whole number such as 20"]
    minimum = stop_timeout_minimum(grace, query)
    if seconds >= minimum:
        return []
    return [
        f"{name} {stop_timeout}s is below ShutdownGracePeriod {grace_period} + {source} {query:g}s + {STOP_TIMEOUT_MARGIN}s margin:"
        " after its grace period the node still releases its lease, for up to the query timeout, and Docker would SIGKILL it"
        f" before the release (its standby then waits for the lease to expire); set chainlink_stop_timeout to at least {minimum}"
    ]


# -- passwords ------------------------------------------------------------------------------------------------------


def password_faults(password: str, email: str | None = None) -> list[str]:
    """What VerifyPasswordComplexity finds wrong with a password (email: the user's, disallowed in it), never quoting it."""
    faults = []
    if password != password.strip(_WHITESPACE):
        faults.append("it has leading or trailing whitespace")
    if len(password) < PASSWORD_MIN_LENGTH:
        faults.append(f"it is shorter than {PASSWORD_MIN_LENGTH} characters")
    if email and email.lower() in password.lower():
        faults.append("it contains the API email")
    return faults


def _redacted(parts: urllib.parse.SplitResult) -> str:
    """The URL as Go's URL.Redacted() shows it: a userinfo password replaced by xxxxx (the query is kept)."""
    if parts.password is None:
        return parts.geturl()
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{user}:xxxxx@{host}").geturl()


def database_url_faults(url: t.Any) -> list[str]:
    """validateDBURL: the URL's password (query first, else userinfo) present and complex enough; _test URLs exempt."""
    if not isinstance(url, str):
        return [f"it is a {type(url).__name__}, not a postgresql:// URL"]
    try:
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        user_password = parts.password
    except ValueError:
        return ["it is not a valid URL"]
    if "_test" in _redacted(parts):
        return []
    password = (query.get("password") or [""])[0]
    if not password:
        if "@" not in parts.netloc:
            return ["it carries no login (the node refuses plaintext URLs: 'DB URL must be authenticated')"]
        if user_password is None:
            return ["it has no password (the node refuses it: 'DB URL must be authenticated; password is required')"]
        password = urllib.parse.unquote(user_password)
    return password_faults(password)


def secret_problems(
    database_url: t.Any,
    keystore_password: t.Any,
    api_email: t.Any,
    api_password: t.Any,
    secrets_extra: t.Any = None,
    config_format: str = "toml",
) -> list[str]:
    """The real node's password rules for one instance's secrets, as problems naming the rule and the fix."""
    long_enough = f"at least {PASSWORD_MIN_LENGTH} characters without leading or trailing whitespace"
    problems = []
    if isinstance(database_url, str) and database_url:
        problems += _refused(
            "the database URL's password",
            database_url_faults(database_url),
            f"a password of {long_enough} is required, in the URL's userinfo or its password= parameter; give the database"
            " login such a password and set chainlink_database_url",
        )
    backup_url = _lookup(secrets_extra, ("Database", "BackupURL"))
    if config_format == "toml" and backup_url:
        problems += _refused("chainlink_secrets_extra Database.BackupURL's password", database_url_faults(backup_url), f"use a password of {long_enough}")
    allow_simple = _lookup(secrets_extra, ("Database", "AllowSimplePasswords"))
    if config_format == "toml" and allow_simple not in (None, False) and str(allow_simple).lower() != "false":
        problems.append(
            "chainlink_secrets_extra sets Database.AllowSimplePasswords = true, which a release build of Chainlink (every"
            " published image) refuses at boot: 'insecure configs are not allowed on secure builds'; remove it and give the"
            f" database login a password of at least {PASSWORD_MIN_LENGTH} characters"
        )
    if isinstance(keystore_password, str) and keystore_password:
        problems += _refused(
            "the keystore password",
            password_faults(keystore_password),
            f"the node refuses it when it creates the keystore; set chainlink_keystore_password to {long_enough}",
        )
    if isinstance(api_password, str) and api_password:
        faults = password_faults(api_password, api_email if isinstance(api_email, str) else None)
        if len(api_password) > API_PASSWORD_MAX_LENGTH:
            faults.append(f"it is longer than {API_PASSWORD_MAX_LENGTH} characters")
        problems += _refused(
            "the API user's password",
            faults,
            f"the node refuses to create the user; set chainlink_api_password to {PASSWORD_MIN_LENGTH}-{API_PASSWORD_MAX_LENGTH}"
            " characters without leading or trailing whitespace and not containing chainlink_api_email",
        )
    return problems


def _refused(what: str, faults: list[str], fix: str) -> list[str]:
    """One problem naming what was refused, every rule it breaks, and the fix; nothing when it breaks none."""
    return [f"{what} does not meet the node's rules ({'; '.join(faults)}): {fix}"] if faults else []


# -- environment ----------------------------------------------------------------------------------------------------


# In legacy.env from v2.0.0 through v2.5.x only: v2.6.0 dropped the Explorer, and its variables with it
LEGACY_ENV_BEFORE_2_6: frozenset[str] = frozenset(["EXPLORER_ACCESS_KEY", "EXPLORER_SECRET", "EXPLORER_URL"])


def legacy_env_problems(env: t.Any, config_format: str, version: t.Any = None) -> list[str]:
    """The 1.x variables a TOML-configured node of ``version`` refuses in its environment (present, even empty); an
    unknown version is checked against the widest list."""
    if config_format != "toml" or not isinstance(env, t.Mapping):
        return []
    release = _release(version)
    refused = LEGACY_ENV | (LEGACY_ENV_BEFORE_2_6 if release is None or release < (2, 6, 0) else frozenset())
    found = sorted(name for name in env if str(name) in refused)
    if not found:
        return []
    return [
        f"node_env_extra sets {', '.join(found)}, which a TOML-configured node refuses at boot ('environment variable"
        f" {found[0]} must not be set: unsupported with config v2'): remove {'it' if len(found) == 1 else 'them'} and set the"
        " TOML key instead (node_* variables, or chainlink_config_extra / chainlink_secrets_extra)"
    ]


# The secrets a TOML-configured node (2.x, 1.11+) also reads from its environment (core/config/env/env.go, Secret(...)).
# The role writes them to secrets.toml (0600) instead: in the environment they show in docker inspect and in every
# task that reads the container.
SECRET_ENV: dict[str, str] = {
    "CL_DATABASE_URL": "chainlink_database_url",
    "CL_DATABASE_BACKUP_URL": "chainlink_secrets_extra Database.BackupURL",
    "CL_EXPLORER_ACCESS_KEY": "chainlink_secrets_extra Explorer.AccessKey",
    "CL_EXPLORER_SECRET": "chainlink_secrets_extra Explorer.Secret",
    "CL_PASSWORD_KEYSTORE": "chainlink_keystore_password",
    "CL_PASSWORD_VRF": "chainlink_secrets_extra Password.VRF",
    "CL_PYROSCOPE_AUTH_TOKEN": "chainlink_secrets_extra Pyroscope.AuthToken",
    "CL_PROMETHEUS_AUTH_TOKEN": "chainlink_secrets_extra Prometheus.AuthToken",
    "CL_THRESHOLD_KEY_SHARE": "chainlink_secrets_extra Threshold.ThresholdKeyShare",
}


def secret_env_problems(env: t.Any, config_format: str) -> list[str]:
    """A secret a TOML-configured node would read from its environment, which the secrets file keeps out of sight."""
    if config_format != "toml" or not isinstance(env, t.Mapping):
        return []
    found = sorted(str(name) for name in env if str(name) in SECRET_ENV)
    return [
        f"node_env_extra sets {name}, a secret the container's environment would show (docker inspect, every task that"
        f" reads the container): remove it and set {SECRET_ENV[name]}, which the role writes to secrets.toml (mode 0600)"
        for name in found
    ]


# -- logging --------------------------------------------------------------------------------------------------------

# The collection proves every step from info-level lines (the standby's waiting line, "Chainlink booted"); a higher
# level hides them, and every proof would time out with the node working fine.
PROVABLE_LOG_LEVELS = ("debug", "info")


def log_level_problems(log_level: t.Any, config_format: str, config_extra: t.Any = None, env_extra: t.Any = None) -> list[str]:
    """The node's effective log level (chainlink_config_extra Log.Level, 1.x LOG_LEVEL in the environment, or
    node_log_level) when it hides the lines the proofs read."""
    level, source = log_level, "chainlink_log_level (node_log_level)"
    if config_format == "toml" and _lookup(config_extra, ("Log", "Level")) is not None:
        level, source = _lookup(config_extra, ("Log", "Level")), "chainlink_config_extra Log.Level"
    elif config_format == "env" and isinstance(env_extra, t.Mapping) and env_extra.get("LOG_LEVEL") not in (None, ""):
        level, source = env_extra["LOG_LEVEL"], "chainlink_env_extra LOG_LEVEL"
    if str(level).strip().lower() in PROVABLE_LOG_LEVELS:
        return []
    return [
        f"{source} is '{level}': the node then hides the info-level lines every step is proven with (the standby's"
        " waiting line, 'Chainlink booted'), so no start could be proven: set it to info (the node's default) or debug"
    ]


# -- where the API listens ------------------------------------------------------------------------------------------

# The first release with WebServer.ListenIP (PR #9621); before it the node listens on every address
LISTEN_IP_RELEASE = (2, 3, 0)
NODE_LISTEN_IP = "0.0.0.0"
EVERY_ADDRESS = ("0.0.0.0", "::")


def _release(version: t.Any) -> tuple[int, ...] | None:
    found = re.match(r"^v?([0-9]+)[.]([0-9]+)[.]([0-9]+)", str(version or ""))
    return tuple(int(part) for part in found.groups()) if found else None


def has_listen_ip(version: t.Any, config_format: str) -> bool:
    """Whether this node reads WebServer.ListenIP (TOML configuration, 2.3.0 and later)."""
    release = _release(version)
    return config_format == "toml" and release is not None and release >= LISTEN_IP_RELEASE


def go_ip(value: str) -> str | None:
    """net.ParseIP(value).String() as Go prints it (an IPv4-mapped IPv6 address prints as IPv4), or None when Go refuses
    the text (Go has no zones in an IP and no leading zeros in IPv4, like Python's ipaddress without the zone)."""
    if "%" in value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def effective_listen_ips(settings: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The ListenIP values the node reads ({setting name: value}): chainlink_config_extra wins over node_listen_ip, as the
    role merges it into config.toml; the TLS listener only when its port is not 0 (default 0.0.0.0)."""
    extra = settings.get("config_extra")
    out: dict[str, t.Any] = {}
    configured = _lookup(extra, ("WebServer", "ListenIP"))
    out["chainlink_config_extra WebServer.ListenIP" if configured is not None else "node_listen_ip (chainlink_listen_ip)"] = (
        configured if configured is not None else settings.get("listen_ip", NODE_LISTEN_IP)
    )
    https = _lookup(extra, ("WebServer", "TLS", "HTTPSPort"))
    https = https if https is not None else settings.get("https_port", 0)
    if str(https) not in ("0", "", "None"):
        tls = _lookup(extra, ("WebServer", "TLS", "ListenIP"))
        out["WebServer.TLS.ListenIP"] = tls if tls is not None else NODE_LISTEN_IP
    return out


def listen_problems(settings: t.Mapping[str, t.Any]) -> list[str]:
    """A ListenIP the node refuses at boot (not an IP) or on which it can never listen (empty, IPv6)."""
    if not has_listen_ip(settings.get("version"), str(settings.get("config_format") or "toml")):
        return []
    problems = []
    for name, value in effective_listen_ips(settings).items():
        text = "" if value is None else str(value)
        ip = go_ip(text) if text else None
        if not isinstance(value, str) and value is not None:
            problems.append(f"{name} is {value!r}, not a string: the node refuses it at boot (toml: cannot decode); write an IP address such as 127.0.0.1")
        elif not text:
            problems.append(
                f"{name} is empty: the node decodes it to no address and then never listens ('<nil>:<port>'): write an IP address,"
                " 127.0.0.1 (the default, reached through an SSH tunnel) or 0.0.0.0 (every address)"
            )
        elif ip is None:
            problems.append(f"{name} '{text}' is not an IP address: the node refuses to boot (invalid IP address: {text}): write one such as 127.0.0.1")
        elif ":" in ip:
            problems.append(
                f"{name} '{text}' is an IPv6 address: the node writes '<ip>:<port>' without brackets and never listens (too many"
                " colons in address): use an IPv4 address such as 127.0.0.1"
            )
    return problems


def listen_warnings(settings: t.Mapping[str, t.Any]) -> list[str]:
    """Where the node's API would listen on every address of its Docker host (an explicit choice, never the default)."""
    port = settings.get("http_port", "")
    if str(settings.get("network_mode") or "host") == "bridge":
        published = str(settings.get("published_address") or "")
        if published in ("", *EVERY_ADDRESS):
            return [
                f"the node's API (port {port}) is published on every address of its Docker host (node_published_address"
                f" '{published}'): anyone who reaches the host reaches it; 127.0.0.1 (and an SSH tunnel) is the default"
            ]
        return []
    config_format = str(settings.get("config_format") or "toml")
    if not has_listen_ip(settings.get("version"), config_format):
        why = "1.x environment configuration" if config_format == "env" else "it came in 2.3.0"
        return [
            f"Chainlink {settings.get('version')} has no WebServer.ListenIP ({why}), so with host networking its API (port {port})"
            " listens on every address of its Docker host: use node_network_mode bridge (published on node_published_address,"
            " 127.0.0.1) or a firewall"
        ]
    return [
        f"{name} is '{value}': the node's API listens on every address of its Docker host (anyone who reaches the host"
        " reaches it); 127.0.0.1 (the default, reached through an SSH tunnel) keeps it local"
        for name, value in effective_listen_ips(settings).items()
        if go_ip(str(value or "")) in EVERY_ADDRESS
    ]


# -- names and paths ----------------------------------------------------------------------------------------------

# Docker's rule for a container name (daemon/names: RestrictedNamePattern), without its optional leading '/': the
# name is also the last part of the config directory, so it cannot climb out of the config root either.
CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")


def container_name_fault(name: t.Any) -> str | None:
    """Why Docker would refuse a container name, or None."""
    if isinstance(name, str) and CONTAINER_NAME.fullmatch(name):
        return None
    return f"'{name}' is not a Docker container name: at least two characters, a letter or digit first, then letters, digits, '_', '.' or '-'"


def directory_fault(path: t.Any) -> str | None:
    """Why a directory the role writes into is not an absolute, normalised path other than '/', or None."""
    text = path if isinstance(path, str) else ""
    if not text.startswith("/") or text == "/":
        return f"'{path}' is not an absolute path below '/': write one such as /srv/chainlink"
    normal = posixpath.normpath(text)
    if normal != text or text.startswith("//"):
        normal = "/" + normal.lstrip("/")
        return f"'{path}' is not a normalised path (no '.', '..', doubled or trailing '/'): write it as {normal}"
    if any(ord(c) < 32 or c == "\x7f" for c in text):
        return f"{path!r} holds a control character: write a plain directory path"
    return None


# -- what the roles write themselves ----------------------------------------------------------------------------------

# What the node role writes into config.toml (roles/node/vars/main.yml, __node_toml_config) and the variable an operator
# sets each with (after the prefix: chainlink_ in an inventory, node_ for the node role alone). The extras are merged
# last, so a key set there would silently win: the lock switched off, another lease, port or listen address. The log
# level and format are free (log_level_problems reads the level wherever it is set; the proofs read either format).
MANAGED_CONFIG: dict[tuple[str, ...], str] = {
    ("Database", "Lock", "Enabled"): "lock_enabled",
    ("Database", "Lock", "LeaseDuration"): "lease_duration",
    ("Database", "Lock", "LeaseRefreshInterval"): "lease_refresh_interval",
    ("ShutdownGracePeriod",): "shutdown_grace_period",
    ("WebServer", "HTTPPort"): "http_port",
    ("WebServer", "ListenIP"): "listen_ip",
    ("WebServer", "SecureCookies"): "secure_cookies",
    ("WebServer", "TLS", "HTTPSPort"): "https_port",
}
# secrets.toml.j2: the database the lock lives in, and the keystore
MANAGED_SECRETS: dict[tuple[str, ...], str] = {("Database", "URL"): "database_url", ("Password", "Keystore"): "keystore_password"}
# The environment: a 1.x node configured by it reads these from the role (__node_env_config and DATABASE_URL); a TOML
# node merges CL_CONFIG, a whole TOML document, over its files (core/config/env/env.go), which would unsay all of the above.
MANAGED_ENV_V1: dict[str, str] = {
    "DATABASE_LOCKING_MODE": "locking_mode",
    "LEASE_LOCK_DURATION": "lease_duration",
    "LEASE_LOCK_REFRESH_INTERVAL": "lease_refresh_interval",
    "ADVISORY_LOCK_ID": "advisory_lock_id",
    "ADVISORY_LOCK_CHECK_INTERVAL": "advisory_lock_check_interval",
    "SHUTDOWN_GRACE_PERIOD": "shutdown_grace_period",
    "CHAINLINK_PORT": "http_port",
    "CHAINLINK_TLS_PORT": "https_port",
    "SECURE_COOKIES": "secure_cookies",
    "DATABASE_URL": "database_url",
}
MANAGED_ENV_TOML: dict[str, str] = {"CL_CONFIG": "config_extra"}
# The docker_container options the node role sets (roles/node/tasks/container.yml; docker_container's aliases too): the
# container options are the module's defaults, which the role's arguments override, so setting one there says nothing.
# Then the options that would undo the container's isolation or the role's network: another network, user or
# privileges, another program than the node, a Docker socket mounted in. The value: the variable to use, or why not.
MANAGED_OPTIONS: dict[str, str] = {
    "docker_host": "docker_url",
    "name": "container_name",
    "image": "image / version",
    "pull": "image_pull",
    "command": "(the role's, from the version and format)",
    "env": "env_extra",
    "network_mode": "network_mode",
    "published_ports": "published_address / http_port",
    "ports": "published_address / http_port",
    "mounts": "config_dir",
    "labels": "labels",
    "restart_policy": "restart_policy",
    "stop_signal": "stop_signal",
    "stop_timeout": "stop_timeout",
    "healthcheck": "healthcheck",
    "log_driver": "log_driver",
    "log_options": "log_options",
    "log_opt": "log_options",
    "memory": "memory",
    "cpus": "cpus",
    "pids_limit": "pids_limit",
    "security_opts": "security_opts",
    "cap_drop": "cap_drop",
    "capabilities": "cap_add",
    "comparisons": "(the role's)",
    "container_default_behavior": "(the role's)",
    "state": "(the role's entry points)",
    "networks": "network_mode",
    "publish_all_ports": "published_address / http_port",
    "user": "(the image's non-root user, which owns the node's files)",
    "privileged": "cap_add (one capability, if one is needed)",
    "userns_mode": "(Docker's default)",
    "pid_mode": "(Docker's default)",
    "ipc_mode": "(Docker's default)",
    "entrypoint": "(the image's: the role runs the node with its files)",
    "env_file": "env_extra",
    "volumes_from": "volumes (one directory at a time)",
}
# The inventory's name of a node_* variable where it is not chainlink_* (per instance, per Docker host, or fixed)
INVENTORY_NAMES = {
    "http_port": "http_port in chainlink_instances",
    "container_name": "container_name in chainlink_instances",
    "config_dir": "chainlink_config_root of the Docker host",
    "labels": "chainlink_container_labels",
    "restart_policy": "node_restart_policy",
    "stop_signal": "node_stop_signal",
}
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
# where the role mounts the config directory inside the container (roles/node/vars/main.yml, __node_mount)
CONFIG_MOUNT = "/chainlink"


def _managed_keys(tree: t.Any, managed: t.Mapping[tuple[str, ...], str]) -> dict[str, str]:
    """The managed keys a TOML tree sets ({dotted key: variable}), and a table of the role's it replaces by a value
    that is not a table (merged in, it would replace the whole table)."""
    found: dict[str, list[str]] = {}
    for path, variable in managed.items():
        node = tree
        for depth, part in enumerate(path):
            if not isinstance(node, t.Mapping):
                if depth:
                    found.setdefault(".".join(path[:depth]), []).append(variable)
                break
            if part not in node:
                break
            node = node[part]
        else:
            found.setdefault(".".join(path), []).append(variable)
    return {key: " / ".join(dict.fromkeys(variables)) for key, variables in found.items()}


def _volume_problems(volumes: t.Any) -> list[str]:
    """A volume that mounts a Docker socket (control of every container on the host) or hides the config mount."""
    out = []
    for volume in volumes if isinstance(volumes, list) else []:
        parts = str(volume).split(":")
        source = parts[0].rstrip("/")
        target = parts[1].rstrip("/") if len(parts) > 1 else source
        if source in DOCKER_SOCKETS or target in DOCKER_SOCKETS:
            out.append(f"volume {volume} (a Docker socket gives the container control of every container on its host)")
        elif target == CONFIG_MOUNT:
            out.append(f"volume {volume} (the role mounts the config directory at {CONFIG_MOUNT})")
    return out


def managed_problems(
    config_format: str | None,
    config_extra: t.Any = None,
    secrets_extra: t.Any = None,
    env_extra: t.Any = None,
    container_options: t.Any = None,
    prefix: str = "chainlink_",
) -> list[str]:
    """Where the extras set what the roles write themselves (the lock, the lease, the database, the port and listen
    address, TLS, the container's network, user and privileges), each naming the variable to use instead.
    config_format: toml, env or None (unknown: both environments are checked)."""

    def fix(variable: str) -> str:
        if variable.startswith("("):
            return f"not settable: {variable[1:-1]}"
        names = [v.strip() for v in variable.split("/")]
        return "use " + " / ".join(INVENTORY_NAMES.get(v, prefix + v) if prefix == "chainlink_" else prefix + v for v in names)

    def sentence(what: str, found: t.Mapping[str, str]) -> list[str]:
        if not found:
            return []
        listed = ", ".join(f"{key} ({fix(variable)})" for key, variable in sorted(found.items()))
        return [
            f"{prefix}{what} sets {listed}, which the roles decide themselves (there it would silently override them, or"
            " undo the container's isolation): remove it there and set the variable named instead"
        ]

    problems = sentence("config_extra", _managed_keys(config_extra, MANAGED_CONFIG))
    problems += sentence("secrets_extra", _managed_keys(secrets_extra, MANAGED_SECRETS))
    env_names: dict[str, str] = {}
    if config_format != "env":
        env_names.update(MANAGED_ENV_TOML)
    if config_format != "toml":
        env_names.update(MANAGED_ENV_V1)
    if isinstance(env_extra, t.Mapping):
        problems += sentence("env_extra", {str(k): env_names[str(k)] for k in env_extra if str(k) in env_names})
    if isinstance(container_options, t.Mapping):
        found = {str(k): MANAGED_OPTIONS[str(k)] for k in container_options if str(k) in MANAGED_OPTIONS}
        problems += sentence("container_options", found)
        volumes = _volume_problems(container_options.get("volumes"))
        if volumes:
            problems.append(f"{prefix}container_options mounts {'; '.join(volumes)}: remove it")
    return problems


# -- one instance ---------------------------------------------------------------------------------------------------


def node_problems(settings: t.Mapping[str, t.Any]) -> list[str]:
    """Every rule above for one instance's settings (keys as the node role's preflight passes them)."""
    config_format = str(settings.get("config_format") or "toml")
    problems = secret_problems(
        settings.get("database_url"),
        settings.get("keystore_password"),
        settings.get("api_email"),
        settings.get("api_password"),
        settings.get("secrets_extra"),
        config_format,
    )
    problems += legacy_env_problems(settings.get("env_extra"), config_format, settings.get("version"))
    problems += secret_env_problems(settings.get("env_extra"), config_format)
    problems += log_level_problems(settings.get("log_level", "info"), config_format, settings.get("config_extra"), settings.get("env_extra"))
    problems += stop_timeout_problems(
        settings.get("stop_timeout"),
        str(settings.get("stop_timeout_name") or "node_stop_timeout"),
        settings.get("shutdown_grace_period", DEFAULT_SHUTDOWN_GRACE_PERIOD),
        config_format,
        settings.get("config_extra"),
        settings.get("env_extra"),
    )
    problems += listen_problems(settings)
    for name, fault in (
        ("node_container_name", container_name_fault(settings["container_name"]) if "container_name" in settings else None),
        ("node_config_dir", directory_fault(settings["config_dir"]) if "config_dir" in settings else None),
    ):
        if fault:
            problems.append(f"{name} {fault}")
    problems += managed_problems(
        config_format, settings.get("config_extra"), settings.get("secrets_extra"), settings.get("env_extra"), settings.get("container_options"), "node_"
    )
    return problems
