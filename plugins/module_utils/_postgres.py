# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""A small PostgreSQL client for modules: shared connection options, one error type, secrets never printed."""

from __future__ import annotations

import contextlib
import getpass
import os
import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nodeops.chainlink.plugins.module_utils._redact import redact_text, secret_forms
from ansible_collections.nodeops.chainlink.plugins.module_utils._requirements import REQUIREMENTS

PSYCOPG2_IMPORT_ERROR: str | None
try:
    import psycopg2
    import psycopg2.extensions
    import psycopg2.sql
except ImportError:
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()
else:
    PSYCOPG2_IMPORT_ERROR = None

# Mirrored option for option by plugins/doc_fragments/_postgres.py. No defaults for the address parts: an option that
# is not set leaves the decision to login_url, then to libpq (PGHOST, PGPORT, ... and its built-in defaults).
COMMON_ARGS: dict[str, dict[str, t.Any]] = {
    "login_host": {"type": "str"},
    "login_port": {"type": "int"},
    "login_user": {"type": "str"},
    "login_password": {"type": "str", "no_log": True},
    "login_db": {"type": "str"},
    "ssl_mode": {"type": "str", "choices": ["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]},
    "connect_timeout": {"type": "int", "default": 10},
    "login_url": {"type": "str", "no_log": True, "aliases": ["database_url"]},
}

# Option name -> libpq keyword; these override the same part of login_url.
_LIBPQ_KEYWORDS = {
    "login_host": "host",
    "login_port": "port",
    "login_user": "user",
    "login_password": "password",
    "login_db": "dbname",
    "ssl_mode": "sslmode",
}


class PostgresError(Exception):
    """Any failure to connect to PostgreSQL or to run a query; the message never holds a password."""

    def __init__(self, message: str, pgcode: str | None = None, connection_lost: bool = False) -> None:
        super().__init__(message)
        self.pgcode = pgcode
        self.connection_lost = connection_lost


# Every form in which a connection URL (or key=value string) may carry its password (module_utils/_redact.py)
url_secrets = secret_forms


def connection_kwargs(
    params: t.Mapping[str, t.Any], application_name: str, session_settings: t.Mapping[str, str] | None = None
) -> tuple[str, dict[str, t.Any]]:
    """The (dsn, keyword arguments) pair for psycopg2.connect(); explicit options override the URL's parts."""
    dsn = params.get("login_url") or ""
    kwargs: dict[str, t.Any] = {}
    for option, keyword in _LIBPQ_KEYWORDS.items():
        value = params.get(option)
        if value not in (None, ""):
            kwargs[keyword] = value
    if params.get("connect_timeout") is not None:
        kwargs["connect_timeout"] = params["connect_timeout"]
    kwargs["application_name"] = application_name
    if session_settings:
        # Startup options cost no extra round trip, unlike SET after connecting.
        options = " ".join(f"-c {name}={value}" for name, value in session_settings.items())
        if dsn and PSYCOPG2_IMPORT_ERROR is None:
            try:
                existing = psycopg2.extensions.parse_dsn(dsn).get("options")
            except psycopg2.Error:
                existing = None
            if existing:
                options = f"{existing} {options}"
        kwargs["options"] = options
    return dsn, kwargs


def describe_target(params: t.Mapping[str, t.Any], environ: t.Mapping[str, str] | None = None) -> str:
    """'host H port P database D user U' as libpq will resolve it, for messages (never the password)."""
    env = os.environ if environ is None else environ
    from_url: dict[str, str] = {}
    url = params.get("login_url")
    if url and PSYCOPG2_IMPORT_ERROR is None:
        try:
            from_url = psycopg2.extensions.parse_dsn(url)
        except psycopg2.Error:
            from_url = {}

    def pick(option: str, keyword: str, env_name: str) -> str | None:
        value = params.get(option)
        if value not in (None, ""):
            return str(value)
        return from_url.get(keyword) or env.get(env_name) or None

    host = pick("login_host", "host", "PGHOST") or "the local socket"
    port = pick("login_port", "port", "PGPORT") or "5432"
    user = pick("login_user", "user", "PGUSER")
    if user is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "(current OS user)"
    database = pick("login_db", "dbname", "PGDATABASE") or user
    return f"host {host} port {port} database '{database}' user '{user}'"


class PostgresClient:
    """Builds the AnsibleModule with the common connection options and talks to PostgreSQL through psycopg2.

    Every message leaving through fail()/warn() is stripped of the password and the URL. Every statement run is
    recorded (as sent, parameters bound) in .queries, without repeats. For deprecations call .module.deprecate()
    directly: ansible-test's pylint wants the version or date there as a literal.
    """

    def __init__(
        self,
        argument_spec: dict[str, t.Any] | None = None,
        supports_check_mode: bool = False,
        mutually_exclusive: list[t.Any] | None = None,
        required_together: list[t.Any] | None = None,
        required_one_of: list[t.Any] | None = None,
        required_if: list[t.Any] | None = None,
        required_by: dict[str, t.Any] | None = None,
        application_name: str = "nodeops.chainlink",
    ) -> None:
        merged: dict[str, t.Any] = dict(COMMON_ARGS)
        merged.update(argument_spec or {})
        self.module = AnsibleModule(
            argument_spec=merged,
            supports_check_mode=supports_check_mode,
            mutually_exclusive=mutually_exclusive or [],
            required_together=required_together or [],
            required_one_of=required_one_of or [],
            required_if=required_if or [],
            required_by=required_by or {},
        )
        self.params: dict[str, t.Any] = self.module.params
        self.check_mode: bool = self.module.check_mode
        self.diff_mode: bool = self.module._diff
        self.application_name = application_name
        self.queries: list[str] = []
        self._conn: t.Any = None
        self._secrets = [s for s in [*url_secrets(self.params.get("login_url")), self.params.get("login_password")] if s]
        # AnsibleModule already hides login_password and the whole URL; the URL's password alone must go too.
        self.module.no_log_values.update(self._secrets)
        if PSYCOPG2_IMPORT_ERROR is not None:
            package = REQUIREMENTS["psycopg2"][0]
            reason = f"to read the pair's database; install the Debian/Ubuntu package {package} there"
            self.fail(missing_required_lib("psycopg2", reason=reason), exception=PSYCOPG2_IMPORT_ERROR)

    # -- messages ---------------------------------------------------------------------------------------------------

    def sanitize(self, text: str) -> str:
        return redact_text(text, self._secrets)

    def fail(self, msg: str, **kwargs: t.Any) -> t.NoReturn:
        self.close()
        if isinstance(kwargs.get("exception"), str):
            kwargs["exception"] = self.sanitize(kwargs["exception"])
        self.module.fail_json(msg=self.sanitize(msg), **kwargs)
        raise SystemExit(1)  # fail_json exits; this line only informs type checkers

    def warn(self, msg: str) -> None:
        self.module.warn(self.sanitize(msg))

    def exit(self, **result: t.Any) -> t.NoReturn:
        self.close()
        self.module.exit_json(**result)
        raise SystemExit(0)  # exit_json exits; this line only informs type checkers

    def describe_target(self) -> str:
        return describe_target(self.params)

    # -- connection and queries -------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def connect(self, read_only: bool = True, statement_timeout: float | None = None, time_zone: str | None = "UTC") -> None:
        """Open one autocommit session; read_only makes the server refuse any write for its whole life."""
        self.close()
        settings: dict[str, str] = {}
        if read_only:
            settings["default_transaction_read_only"] = "on"
        if statement_timeout is not None:
            settings["statement_timeout"] = str(max(1, int(statement_timeout * 1000)))
        if time_zone:
            settings["TimeZone"] = time_zone
        dsn, kwargs = connection_kwargs(self.params, self.application_name, settings)
        try:
            conn = psycopg2.connect(dsn, **kwargs)
        except psycopg2.Error as exc:
            detail = self._error_text(exc)
            if self.params.get("login_url") and "invalid" in detail and "dsn" in detail:
                raise PostgresError(
                    f"login_url is not a valid connection URI ({detail}); expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=..."
                ) from None
            raise PostgresError(f"Cannot connect to PostgreSQL at {self.describe_target()}: {detail}", pgcode=exc.pgcode, connection_lost=True) from None
        conn.autocommit = True
        self._conn = conn

    def query(self, statement: t.Any, args: t.Mapping[str, t.Any] | t.Sequence[t.Any] | None = None) -> list[dict[str, t.Any]]:
        """Run one statement; return its rows as dicts. statement may be a str or a psycopg2.sql.Composable."""
        if self._conn is None or self._conn.closed:
            raise PostgresError(f"Not connected to PostgreSQL at {self.describe_target()}", connection_lost=True)
        cursor = self._conn.cursor()
        try:
            cursor.execute(statement, args)
            columns = [column.name for column in cursor.description or []]
            return [dict(zip(columns, row, strict=True)) for row in (cursor.fetchall() if cursor.description else [])]
        except psycopg2.Error as exc:
            lost = bool(self._conn.closed) or isinstance(exc, psycopg2.InterfaceError)
            raise PostgresError(self._error_text(exc), pgcode=exc.pgcode, connection_lost=lost) from None
        finally:
            self._record(cursor)
            cursor.close()

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg2.Error):  # closing a broken connection has nothing left to clean up
                self._conn.close()
            self._conn = None

    def _record(self, cursor: t.Any) -> None:
        sent = getattr(cursor, "query", None)
        if not sent:
            return
        text = self.sanitize(sent.decode("utf-8", "replace") if isinstance(sent, bytes) else str(sent))
        if text not in self.queries:
            self.queries.append(text)

    def _error_text(self, exc: BaseException) -> str:
        # libpq messages span lines with tabs ("...failed: Connection refused\n\tIs the server running..."): one line.
        return self.sanitize(" ".join(str(exc).split())) or type(exc).__name__
