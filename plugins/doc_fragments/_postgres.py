# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.

from __future__ import annotations


class ModuleDocFragment:
    # Mirrors COMMON_ARGS in plugins/module_utils/_postgres.py option for option.
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host name or IP address of the PostgreSQL server, or a Unix socket directory.
      - Overrides the host of O(login_url). When neither is set, libpq decides (E(PGHOST), else the local Unix socket).
    type: str
  login_port:
    description:
      - TCP port of the PostgreSQL server.
      - Overrides the port of O(login_url). When neither is set, libpq decides (E(PGPORT), else V(5432)).
    type: int
  login_user:
    description:
      - Role to log in as.
      - Overrides the user of O(login_url). When neither is set, libpq decides (E(PGUSER), else the OS user name).
    type: str
  login_password:
    description:
      - Password of O(login_user).
      - Overrides the password of O(login_url). When neither is set, libpq decides (E(PGPASSWORD), C(~/.pgpass)).
      - Never printed.
    type: str
  login_db:
    description:
      - Database to connect to, the one the Chainlink nodes use.
      - Overrides the database of O(login_url). When neither is set, libpq decides (E(PGDATABASE), else the user name).
    type: str
  ssl_mode:
    description:
      - Whether and how to negotiate TLS with the server, as libpq's C(sslmode).
      - Overrides C(sslmode) in O(login_url). When neither is set, libpq's default V(prefer) applies.
      - See U(https://www.postgresql.org/docs/current/libpq-ssl.html).
    type: str
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  connect_timeout:
    description:
      - Seconds to wait for the connection to open (libpq's C(connect_timeout)).
      - Also the limit for each query, so a table locked by someone else cannot hang the module.
      - V(0) waits forever for both.
    type: int
    default: 10
  login_url:
    description:
      - A libpq connection URI such as the node's own C(DATABASE_URL),
        for example C(postgresql://chainlink:secret@127.0.0.1:5432/chainlink?sslmode=disable).
      - The other connection options, when set, override the matching part of the URI (for example O(login_host)
        when the node reaches the database under another name than the controller does).
      - Never printed; every message shows the URI's password as C(********).
    type: str
    aliases: [database_url]
requirements:
  - psycopg2 >= 2.8 (or psycopg2-binary) on the host that runs the module
notes:
  - The module opens one session with C(default_transaction_read_only=on), so the server itself refuses any write.
"""
