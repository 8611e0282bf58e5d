# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""chainlink-sim: a test double of the Chainlink node's database lock, CLI, logs and health endpoints.

It is NOT Chainlink: it runs no jobs, talks to no chain and has no keystore. It reproduces, as faithfully as the
specification (``shared/reference/chainlink-node.md``) allows, what an operator's automation can observe: the
``lease_lock`` protocol, the 1.x advisory lock, ``application_name``, the log lines, the start-up order, the exit
codes, ``node_versions`` and the HTTP server that exists only on the active instance.

Version: env ``CHAINLINK_SIM_VERSION`` (the image bakes it in from build ARG ``CHAINLINK_VERSION``). Major 1 behaves
like 1.x (env config, ``DATABASE_LOCKING_MODE``, advisory lock), major 2 like 2.x (TOML only).

Tables it writes (besides ``lease_lock``, created on the first lease attempt exactly like the node):

``node_versions``
    ``version text PRIMARY KEY, created_at timestamp NOT NULL`` with a unique index on ``(version IS NOT NULL)``
    (one row). Checked after the lock is taken; a node older than the recorded version refuses to boot.
``goose_migrations``
    ``id serial, version_id bigint, is_applied boolean, tstamp timestamp``: one row per applied migration (version 0
    on creation); ``max(version_id)`` grows with the version and is written before ``node_versions``.
``users``
    ``email text PRIMARY KEY, hashed_password text, role text, created_at timestamptz``; seeded from ``-a`` once.
``sim_job_runs`` (the work queue; created by the booting node, or by a test beforehand)
    ``id bigserial PRIMARY KEY, created_at timestamptz DEFAULT now(), claimed_by uuid, claimed_at timestamptz,
    completed_by uuid, completed_at timestamptz``. A row is pending while ``completed_at IS NULL``. Every 100 ms the
    active instance claims pending rows with ``FOR UPDATE SKIP LOCKED`` and completes them in the same transaction,
    writing its app ID (the ``lease_lock.client_id`` it holds) into ``claimed_by`` and ``completed_by``. Tests
    insert rows (``INSERT INTO sim_job_runs DEFAULT VALUES``) and check that each is completed exactly once.

Fault knobs (all off by default):

``SIM_BOOT_DELAY``
    seconds (``2.5`` or ``2500ms``) spent after the lock is taken and before "booted", like slow migrations.
``SIM_SHUTDOWN_DELAY``
    seconds the app takes to stop after SIGTERM/SIGINT; beyond ``ShutdownGracePeriod`` the node logs the crit line,
    releases the lock and exits 255.
``SIM_CRASH_AT_BOOT``
    ``1``/``true``: exit 2 right after taking the lock, before "booted", releasing nothing (a hard crash);
    ``once``: only the first time in a container, so that the run Docker restarts boots under a new app ID.
``SIM_MIGRATE_FAIL_AT``
    a migration's ``version_id``: it fails on every run (exit 1), the pending ones before it are applied, and
    ``node_versions`` stays at the old version.
``SIM_REFUSE_START``
    ``1``/``true``: print a message and exit 1 at once, before reading any config or touching the database.
``SIM_LISTEN_IP``
    1.x env-config only: the address the web server binds (default ``127.0.0.1``; the real 1.x binds every address).
"""

from __future__ import annotations
