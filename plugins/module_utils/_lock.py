# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""Pure functions about the Chainlink node's database lock: names, keys, states, instances, wait conditions.

Facts used here (see docs of the node, chainlink-node.md sections 3 and 4):
- application_name is "Chainlink <version> |<name>|<appID>" ("Chainlink |<name>|<appID>" without a version), cut to 63
  characters, so the app ID may be a prefix only;
- the lease row's client_id is that same app ID;
- the advisory key is one bigint, seen in pg_locks as classid (high 32 bits) and objid (low 32 bits), objsubid 1.

The one statement that reads the lock state (``lock_statement``) is built here too, for lock_info and lock_observer alike.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t
import uuid

DEFAULT_LEASE_TABLE = "lease_lock"
VERSIONS_TABLE = "node_versions"
GOOSE_TABLE = "goose_migrations"
DEFAULT_ADVISORY_LOCK_ID = 1027321974924625846
APPLICATION_NAME_PREFIX = "Chainlink "
APPLICATION_NAME_MAX = 63  # PostgreSQL's NAMEDATALEN - 1; the node cuts its name to this length itself

STATES = ("held", "expired", "free", "absent")
WAIT_CONDITIONS = ("held", "free", "holder", "holder_changed", "connected")

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_APP_ID_PREFIX = re.compile(r"[0-9a-f-]*")
_VERSION = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")


# -- identifiers and keys -------------------------------------------------------------------------------------------


def parse_table_name(value: str) -> tuple[str, ...]:
    """Validate 'name' or 'schema.name' (unquoted SQL identifiers) and fold it to lower case as PostgreSQL does.

    Raises ValueError naming the problem; nothing outside [A-Za-z0-9_$] can reach SQL through this.
    """
    if not isinstance(value, str) or not value:
        raise ValueError("lease_table must be a table name such as 'lease_lock' or 'public.lease_lock'")
    parts = value.split(".")
    if len(parts) > 2:
        raise ValueError(f"lease_table '{value}' has {len(parts) - 1} dots; give 'name' or 'schema.name'")
    for part in parts:
        if not _IDENTIFIER.fullmatch(part):
            raise ValueError(
                f"lease_table '{value}' is not a valid name: '{part}' must start with a letter or '_' and contain only letters, digits, '_' or '$'"
                " (quoted identifiers are not supported)"
            )
        if len(part) > APPLICATION_NAME_MAX:
            raise ValueError(f"lease_table '{value}': '{part}' is longer than PostgreSQL's 63-character identifier limit")
    return tuple(part.lower() for part in parts)


def split_advisory_key(key: int) -> tuple[int, int]:
    """(classid, objid) under which pg_locks shows a single-bigint advisory key: its high and low 32 bits."""
    if not -(2**63) <= key < 2**63:
        raise ValueError(f"advisory_lock_id {key} is outside PostgreSQL's bigint range")
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def join_advisory_key(classid: int, objid: int) -> int:
    """The bigint key back from pg_locks' classid and objid (signed, as pg_try_advisory_lock takes it)."""
    unsigned = (classid << 32) | objid
    return unsigned - 2**64 if unsigned >= 2**63 else unsigned


def normalize_app_id(value: str) -> str:
    """A node's app ID (a UUID, as in lease_lock.client_id and the log's appID field), lower case."""
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise ValueError(f"app_id '{value}' is not a UUID; give the node's app ID as logged in its appID field or as lease_lock.client_id") from None


# -- the lock query -------------------------------------------------------------------------------------------------


def quote_identifier(name: str) -> str:
    """One SQL identifier in double quotes, embedded quotes doubled (what psycopg2.sql.Identifier sends)."""
    return '"' + name.replace('"', '""') + '"'


def lock_statement(
    lease_table: str | t.Sequence[str],
    advisory_lock_id: int,
    *,
    lease: bool = True,
    versions: bool = False,
    access: bool = False,
    epochs: bool = False,
) -> tuple[str, dict[str, t.Any]]:
    """The statement reading the lock state as one JSON document (column ``report``), and its arguments.

    lease_table is 'name' or 'schema.name' (or parse_table_name's result); it is validated again here and sent quoted.
    The document always has ``db_now`` (the statement's clock, below), ``lease_table_exists``, ``lease`` (the row with the latest expiry:
    client_id, expires_at, remaining_seconds, valid), ``advisory`` (the session holding the single-bigint key:
    pid, application_name), ``sessions`` (Chainlink sessions by pid: pid, application_name, client_addr,
    backend_start), ``db_version`` and ``schema_version``. What else it reads:

    - lease: read the lease row (only once the table exists, else ``lease`` is null);
    - versions: read the newest node_versions row (only once that table exists and is readable, else ``db_version`` is null)
      and ``schema_version``, max(version_id) of goose_migrations (null when that table is absent or unreadable): a
      version that fails part-way through its migrations moves it but leaves node_versions at the old version;
    - access: what the login may see (``lease_table_readable``, ``versions_table_exists``, ``versions_table_readable``,
      ``read_all_stats``, ``login_role``);
    - epochs: ``db_clock``, the statement's clock in epoch seconds, and the lease row's ``expires_epoch``.

    Every time is read against one clock_timestamp() taken while the statement runs, after its snapshot, never now():
    now() is the transaction's start, which can precede the snapshot, so a refresh committed in between would show
    more time left than the lease lasts. Taken once (OFFSET 0 keeps the planner from copying the call into each use),
    db_now, remaining_seconds and valid agree with each other.
    """
    parts = parse_table_name(lease_table if isinstance(lease_table, str) else ".".join(lease_table))
    table_sql = ".".join(quote_identifier(part) for part in parts)
    classid, objid = split_advisory_key(advisory_lock_id)
    lease_sql = "NULL::json"
    if lease:
        expires_epoch = " 'expires_epoch', extract(epoch FROM expires_at)::float8," if epochs else ""
        lease_sql = (
            "(SELECT json_build_object('client_id', client_id, 'expires_at', expires_at,"
            f"{expires_epoch}"
            " 'remaining_seconds', extract(epoch FROM expires_at - c.at), 'valid', expires_at >= c.at)"
            f" FROM {table_sql} ORDER BY expires_at DESC LIMIT 1)"
        )
    versions_sql = "NULL::text"
    schema_sql = "NULL::bigint"
    if versions:
        versions_sql = f"(SELECT version::text FROM {quote_identifier(VERSIONS_TABLE)} ORDER BY created_at DESC LIMIT 1)"
        # goose's table may be absent (a database no node migrated) or unreadable: a plain SELECT would fail the whole
        # statement at parse time, so it is read through query_to_xml only when it exists and may be read
        schema_sql = (
            "(CASE WHEN to_regclass(%(goose_table)s) IS NOT NULL AND has_table_privilege(to_regclass(%(goose_table)s)::oid, 'SELECT')"
            " THEN ((xpath('/row/m/text()', query_to_xml(%(goose_query)s, false, true, '')))[1]::text)::bigint END)"
        )
    clock_sql = " 'db_clock', extract(epoch FROM c.at)::float8," if epochs else ""
    access_sql = ""
    if access:
        access_sql = (
            " 'lease_table_readable', has_table_privilege(to_regclass(%(lease_table)s)::oid, 'SELECT'),"
            " 'versions_table_exists', to_regclass(%(versions_table)s) IS NOT NULL,"
            " 'versions_table_readable', has_table_privilege(to_regclass(%(versions_table)s)::oid, 'SELECT'),"
            " 'read_all_stats', pg_has_role('pg_read_all_stats', 'USAGE'),"
            " 'login_role', current_user,"
        )
    # A standby never waits inside pg_locks (it uses pg_try_advisory_lock), so a granted row is the holder.
    statement = (
        "SELECT json_build_object("
        "'db_now', c.at,"
        f"{clock_sql}"
        " 'lease_table_exists', to_regclass(%(lease_table)s) IS NOT NULL,"
        f"{access_sql}"
        f" 'lease', {lease_sql},"
        " 'advisory', (SELECT json_build_object('pid', l.pid, 'application_name', a.application_name)"
        " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.database = d.oid AND l.classid::bigint = %(classid)s"
        " AND l.objid::bigint = %(objid)s AND l.objsubid = 1 AND l.granted LIMIT 1),"
        " 'sessions', (SELECT coalesce(json_agg(json_build_object('pid', a.pid, 'application_name', a.application_name,"
        " 'client_addr', host(a.client_addr), 'backend_start', a.backend_start) ORDER BY a.pid), '[]'::json)"
        " FROM pg_stat_activity a WHERE a.datid = d.oid AND a.application_name LIKE 'Chainlink %%'),"
        f" 'db_version', {versions_sql},"
        f" 'schema_version', {schema_sql}"
        ") AS report FROM pg_database d CROSS JOIN (SELECT clock_timestamp() AS at OFFSET 0) c WHERE d.datname = current_database()"
    )
    # Validated identifiers, so the unquoted dotted form is the same name the statement quotes.
    arguments = {"lease_table": ".".join(parts), "versions_table": VERSIONS_TABLE, "classid": classid, "objid": objid}
    if versions:
        arguments.update(goose_table=GOOSE_TABLE, goose_query=f"SELECT max(version_id) AS m FROM {quote_identifier(GOOSE_TABLE)}")
    return statement, arguments


# -- application_name -----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AppName:
    """What a Chainlink session's application_name says. app_id is a prefix when truncated is true."""

    version: str | None
    name: str | None
    app_id: str | None
    truncated: bool


def parse_application_name(value: str | None) -> AppName | None:
    """Parse 'Chainlink <version> |<name>|<appID>'; None when it is not a Chainlink session's name."""
    if not value or not value.startswith(APPLICATION_NAME_PREFIX):
        return None
    rest = value[len(APPLICATION_NAME_PREFIX) :]
    truncated = len(value) >= APPLICATION_NAME_MAX
    if "|" not in rest:
        # Only a (possibly cut) version survived; the name and app ID were cut away.
        version = rest.strip() or None
        return AppName(version=version, name=None, app_id=None, truncated=True) if truncated else None
    version_part, tail = rest.split("|", 1)
    version = version_part.strip() or None
    if "|" not in tail:
        # "Chainlink 1.2.3 |App" (the node had no app ID), or cut inside the name.
        return AppName(version=version, name=tail or None, app_id=None, truncated=truncated)
    name, app_id = tail.split("|", 1)
    app_id = app_id.lower()
    if not _APP_ID_PREFIX.fullmatch(app_id):
        return None
    full = len(app_id) == 36
    if full:
        try:
            app_id = str(uuid.UUID(app_id))
        except ValueError:
            return None
    return AppName(version=version, name=name, app_id=app_id or None, truncated=truncated and not full)


def app_id_matches(full_id: str | None, seen: str | None) -> bool:
    """Whether an app ID seen in application_name (possibly a truncated prefix) is that of full_id."""
    if not full_id or not seen:
        return False
    return full_id.lower() == seen.lower() or (len(seen) < 36 and full_id.lower().startswith(seen.lower()))


# -- versions -------------------------------------------------------------------------------------------------------


def parse_version(value: str) -> tuple[tuple[int, int, int], tuple[t.Any, ...]] | None:
    """Semantic version -> ((major, minor, patch), pre-release key); None when it is not one. 'v' prefix allowed."""
    match = _VERSION.fullmatch(value.strip()) if value else None
    if match is None:
        return None
    core = (int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0))
    pre = match.group(4)
    if not pre:
        return core, (1,)  # a release sorts after all its pre-releases
    fields = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return core, (0, fields)


def compare_versions(left: str, right: str) -> int:
    """-1, 0 or 1 as left is older than, equal to or newer than right (semver precedence; build metadata ignored)."""
    a, b = parse_version(left), parse_version(right)
    if a is None or b is None:
        bad = left if a is None else right
        raise ValueError(f"'{bad}' is not a version such as 2.29.0 or 1.11.0-rc1")
    return (a > b) - (a < b)


def version_matches(wanted: str, seen: str | None) -> bool:
    """Whether a session's version (from application_name) is the wanted one; 'v2.29.0' equals '2.29.0'."""
    if not seen:
        return False
    if wanted.strip().lstrip("v") == seen.strip().lstrip("v"):
        return True
    try:
        return compare_versions(wanted, seen) == 0
    except ValueError:
        return False


# -- what the database says -> the report --------------------------------------------------------------------------


def derive_state(table_exists: bool, lease: t.Mapping[str, t.Any] | None) -> str:
    """absent (no table), free (no row), held (row valid), expired (row past its expiry)."""
    if not table_exists:
        return "absent"
    if not lease:
        return "free"
    return "held" if lease.get("valid") else "expired"


def build_instances(
    sessions: t.Iterable[t.Mapping[str, t.Any]], lease_client_id: str | None, lease_valid: bool, advisory_pid: int | None
) -> list[dict[str, t.Any]]:
    """Group Chainlink sessions (pid, application_name, client_addr, backend_start) into instances by app ID.

    Truncated names are merged with the instance whose app ID they prefix; an instance whose (prefix) app ID matches
    the lease's client_id is reported under the full client_id.
    """
    parsed: list[tuple[AppName, t.Mapping[str, t.Any]]] = []
    for session in sessions:
        name = parse_application_name(session.get("application_name"))
        if name is not None and name.app_id:
            parsed.append((name, session))
    # Longest IDs first, so a prefix joins the group of the full ID rather than founding its own.
    parsed.sort(key=lambda item: (-len(item[0].app_id or ""), item[1].get("pid") or 0))
    groups: dict[str, dict[str, t.Any]] = {}
    for name, session in parsed:
        seen_id = name.app_id or ""
        key = next((k for k in groups if k == seen_id or k.startswith(seen_id)), None)
        if key is None:
            key = lease_client_id if app_id_matches(lease_client_id, seen_id) and lease_client_id else seen_id
            groups[key] = {"app_id": key, "version": None, "client_addr": None, "pids": [], "backend_start": None}
        group = groups[key]
        group["pids"].append(session.get("pid"))
        group["version"] = group["version"] or name.version
        group["client_addr"] = group["client_addr"] or session.get("client_addr")
        start = session.get("backend_start")
        if start and (group["backend_start"] is None or start < group["backend_start"]):
            group["backend_start"] = start
    instances = []
    for group in groups.values():
        pids = sorted(p for p in group["pids"] if p is not None)
        instances.append(
            {
                "app_id": group["app_id"],
                "version": group["version"],
                "client_addr": group["client_addr"],
                "connections": len(group["pids"]),
                "pids": pids,
                "holds_lease": bool(lease_valid and app_id_matches(lease_client_id, group["app_id"])),
                "holds_advisory": advisory_pid is not None and advisory_pid in pids,
                "_backend_start": group["backend_start"],
            }
        )
    # Lock holders first, then the rest by when they connected (standbys in start order), then by ID.
    instances.sort(key=lambda i: (not i["holds_lease"], not i["holds_advisory"], i["_backend_start"] or "~", i["app_id"]))
    return instances


def _holder_entry(app_id: str, application_name: t.Any, session: t.Mapping[str, t.Any], pid: t.Any) -> dict[str, t.Any]:
    """The holder as the report gives it: its app ID, version and the session that holds the lock."""
    name = parse_application_name(application_name)
    return {
        "app_id": app_id,
        "version": name.version if name else None,
        "application_name": application_name,
        "client_addr": session.get("client_addr"),
        "pid": pid,
        "backend_start": session.get("backend_start"),
    }


def build_report(raw: t.Mapping[str, t.Any], advisory_lock_id: int) -> dict[str, t.Any]:
    """The module's result (without waited/wait_for/queries) from the observer query's JSON document.

    raw keys: db_now, lease_table_exists, lease ({client_id, expires_at, remaining_seconds, valid} or None),
    sessions (list of {pid, application_name, client_addr, backend_start}), advisory ({pid, application_name} or None),
    db_version, schema_version.
    """
    table_exists = bool(raw.get("lease_table_exists"))
    row = raw.get("lease") or None
    state = derive_state(table_exists, row)
    valid = state == "held"
    client_id = str(row["client_id"]).lower() if row else None
    lease = {
        "table_exists": table_exists,
        "exists": row is not None,
        "client_id": client_id,
        "expires_at": row.get("expires_at") if row else None,
        "db_now": raw.get("db_now"),
        "remaining_seconds": float(row["remaining_seconds"]) if row and row.get("remaining_seconds") is not None else None,
        "valid": valid,
    }

    advisory_row = raw.get("advisory") or None
    advisory_pid = advisory_row.get("pid") if advisory_row else None
    sessions = list(raw.get("sessions") or [])
    instances = build_instances(sessions, client_id, valid, advisory_pid)

    advisory_app_id = None
    if advisory_row:
        name = parse_application_name(advisory_row.get("application_name"))
        advisory_app_id = name.app_id if name else None
        if app_id_matches(client_id, advisory_app_id):
            advisory_app_id = client_id
    classid, objid = split_advisory_key(advisory_lock_id)
    advisory = {
        "lock_id": advisory_lock_id,
        "classid": classid,
        "objid": objid,
        "held": advisory_row is not None,
        "pid": advisory_pid,
        "app_id": advisory_app_id,
        "application_name": advisory_row.get("application_name") if advisory_row else None,
    }

    holder = None
    if valid and client_id:
        own = [s for s in sessions if _session_app_id_matches(s, client_id)]
        if own:
            # The lease runs on one dedicated connection that cannot be told apart from the pool's; prefer the session
            # holding the advisory lock (dual mode), else the oldest one (the node opens its lock connections first).
            chosen = next((s for s in own if advisory_pid is not None and s.get("pid") == advisory_pid), None)
            chosen = chosen or min(own, key=lambda s: (s.get("backend_start") or "~", s.get("pid") or 0))
            holder = _holder_entry(client_id, chosen.get("application_name"), chosen, chosen.get("pid"))

    if holder is None and not valid and advisory_row is not None and advisory_app_id:
        # advisorylock mode (1.x): no lease, the session holding the advisory key is the holder
        session: t.Mapping[str, t.Any] = next((s for s in sessions if s.get("pid") == advisory_pid), {})
        holder = _holder_entry(advisory_app_id, advisory_row.get("application_name"), session, advisory_pid)
    if holder is not None:
        holder["locks"] = held_locks(valid, client_id, advisory_row is not None, advisory_app_id, holder["app_id"])

    # Consistent unless both locks are in use by different (or unidentifiable) sessions.
    consistent = app_id_matches(client_id, advisory_app_id) if valid and advisory["held"] else True

    for instance in instances:
        instance.pop("_backend_start", None)
    return {
        "state": state,
        "lease": lease,
        "advisory": advisory,
        "holder": holder,
        "holder_app_id": client_id if valid else advisory_app_id,
        "consistent": consistent,
        "instances": instances,
        "db_version": raw.get("db_version"),
        "schema_version": None if raw.get("schema_version") is None else int(raw["schema_version"]),
    }


def held_locks(lease_valid: bool, client_id: str | None, advisory_held: bool, advisory_app_id: str | None, app_id: str | None) -> list[str]:
    """Which locks the instance app_id holds: ``lease`` and/or ``advisory`` (1.x dual mode holds both)."""
    locks = ["lease"] if lease_valid and app_id_matches(client_id, app_id) else []
    if advisory_held and app_id_matches(app_id, advisory_app_id):
        locks.append("advisory")
    return locks


def _session_app_id_matches(session: t.Mapping[str, t.Any], client_id: str) -> bool:
    name = parse_application_name(session.get("application_name"))
    return name is not None and app_id_matches(client_id, name.app_id)


def outdated_instances(report: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """Connected instances older than the database's recorded version: they would refuse to boot once they get the lock."""
    db_version = report.get("db_version")
    if not db_version or parse_version(db_version) is None:
        return []
    return [i for i in report.get("instances", []) if i.get("version") and parse_version(i["version"]) and compare_versions(i["version"], db_version) < 0]


# -- preconditions of a change ------------------------------------------------------------------------------------


def precondition_problems(report: t.Mapping[str, t.Any], waiting: str | None = None, version: str | None = None, not_holder: str | None = None) -> list[str]:
    """What keeps a change from being safe now, read from one report (empty: safe).

    waiting: the instance that takes over must be connected (on version, when given) and hold no lock - stopping the
    active instance is safe only then; not_holder: the instance about to be restarted or removed must hold neither lock
    (a valid lease, or the advisory key) right now.
    """
    problems = []
    holder_id = report.get("holder_app_id")
    advisory_id = report["advisory"]["app_id"] if report["advisory"]["held"] else None
    if waiting:
        connected = [i for i in report["instances"] if app_id_matches(waiting, i["app_id"])]
        if not connected:
            problems.append(f"the standby {waiting} is not connected to the database")
        elif version and not any(version_matches(version, i.get("version")) for i in connected):
            seen = ", ".join(sorted({str(i.get("version") or "unknown") for i in connected}))
            problems.append(f"the standby {waiting} is connected with version {seen}, not {version}")
        # A standby holding the lease beside another instance's advisory lock is a dual node waiting for the advisory
        # lock (the advisory-lock bridge): stopping the advisory holder hands it over. (Were it a lease-only node, two
        # would be active, and stopping one of them is still the safe change.)
        leads = holder_id and app_id_matches(waiting, holder_id) and report.get("consistent", True)
        if leads or (advisory_id and app_id_matches(waiting, advisory_id)):
            problems.append(f"the standby {waiting} holds the lock already (it is not waiting)")
    if not_holder and ((holder_id and app_id_matches(not_holder, holder_id)) or (advisory_id and app_id_matches(not_holder, advisory_id))):
        problems.append(f"{not_holder} holds the lock now")
    return problems


# -- waiting --------------------------------------------------------------------------------------------------------


def wait_satisfied(condition: str, report: t.Mapping[str, t.Any], app_id: str | None = None, version: str | None = None) -> bool:
    """Whether the report meets the wait_for condition.

    held/holder/holder_changed need a holder: a valid lease and, in dual mode, the advisory lock with the same instance
    (or free); without a valid lease (1.x advisorylock mode), the session holding the advisory key. free needs neither
    lock held.
    """
    holder_id = report.get("holder_app_id")
    held = holder_id is not None and report["consistent"]
    if condition == "held":
        return held
    if condition == "free":
        return report["state"] != "held" and not report["advisory"]["held"]
    if condition == "holder":
        if not held:
            return False
        if app_id and not app_id_matches(app_id, holder_id):
            return False
        holder = report.get("holder")
        return not version or (holder is not None and version_matches(version, holder.get("version")))
    if condition == "holder_changed":
        return held and not app_id_matches(app_id, holder_id)
    if condition == "connected":
        return any(
            (not app_id or app_id_matches(app_id, i["app_id"])) and (not version or version_matches(version, i.get("version"))) for i in report["instances"]
        )
    raise ValueError(f"unknown wait_for condition '{condition}'; use one of {', '.join(WAIT_CONDITIONS)}")


def describe_wait(condition: str, app_id: str | None = None, version: str | None = None) -> str:
    """What is being waited for, in words."""
    who = " and ".join(x for x in (f"app ID {app_id}" if app_id else "", f"version {version}" if version else "") if x)
    return {
        "held": "a node to hold the lock",
        "free": "the lock to be free (no valid lease, no advisory lock)",
        "holder": f"the lock to be held by the instance with {who}",
        "holder_changed": f"another instance than {app_id} to hold the lock",
        "connected": f"an instance with {who} to connect",
    }.get(condition, condition)


def describe_state(report: t.Mapping[str, t.Any]) -> str:
    """One sentence: who holds what, and who is connected."""
    lease = report["lease"]
    state = report["state"]
    if state == "absent":
        text = "no lease table (no node has taken the lease on this database)"
    elif state == "free":
        text = "the lease table is empty (no node has taken the lease yet)"
    elif state == "expired":
        text = f"the lease of {lease['client_id']} expired {abs(lease['remaining_seconds'] or 0):.1f}s ago"
    else:
        holder = report.get("holder")
        seen = f" (version {holder['version']}, pid {holder['pid']})" if holder else " (its session is not visible)"
        text = f"the lease is held by {lease['client_id']}{seen}, {lease['remaining_seconds']:.1f}s left"
    advisory = report["advisory"]
    if advisory["held"]:
        text += f"; the advisory lock is held by pid {advisory['pid']} ({advisory['app_id'] or advisory.get('application_name') or 'unknown session'})"
    if not report["consistent"]:
        text += "; the lease and the advisory lock are held by different sessions"
    instances = report["instances"]
    connected = ", ".join(f"{i['app_id']} ({i['version'] or 'unknown version'})" for i in instances) or "none"
    return f"{text}; connected instances: {connected}"


def wait_advice(condition: str, report: t.Mapping[str, t.Any], app_id: str | None = None, version: str | None = None) -> str:
    """What an operator should do when the wait timed out, given the last state seen."""
    instances = report["instances"]
    holder_id = report.get("holder_app_id")
    if not report["consistent"]:
        return (
            "The lease holder waits for the advisory lock that another session still holds (1.x dual mode): stop the advisory holder"
            f" (pid {report['advisory']['pid']}) gracefully, or terminate its backend if its node is gone."
        )
    if condition == "held":
        if not instances:
            return "No Chainlink instance is connected to this database: start one and check its DATABASE_URL points here."
        return "Instances are connected but none holds the lease: check their logs for lock or migration errors, or raise timeout."
    if condition == "free":
        holder = holder_id or report["advisory"]["app_id"] or ""
        return f"Stop the holder {holder} gracefully (SIGTERM releases the lease at once), or wait for its lease to expire."
    if condition == "holder_changed":
        others = [i for i in instances if i["app_id"] != app_id and not (app_id and app_id_matches(app_id, i["app_id"]))]
        if holder_id == app_id:
            if not others:
                return f"The old holder {app_id} still holds the lease and no standby is connected to take over: start the standby first."
            return f"The old holder {app_id} still holds the lease: stop it gracefully (SIGTERM), then the standby takes over within one refresh interval."
        if not others:
            return "No other instance is connected to take the lease: start the standby and check its DATABASE_URL points here."
        return "A standby is connected but has not taken the lease yet: check its logs, or raise timeout if it is still waiting for the lease to expire."
    if condition == "holder":
        if not any((not app_id or app_id_matches(app_id, i["app_id"])) and (not version or version_matches(version, i.get("version"))) for i in instances):
            return "That instance is not connected: check that its container runs and its DATABASE_URL points to this database."
        if holder_id:
            return f"That instance is connected but {holder_id} holds the lock: stop {holder_id} gracefully to hand over."
        return "That instance is connected but has not taken the lease yet: check its logs, or raise timeout if it waits for an expiry."
    if condition == "connected":
        return "Check that the instance's container runs, that its DATABASE_URL points to this database, and that it was started with that version."
    return "Raise timeout or check the nodes' logs."
