# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The command line of the real binary (urfave/cli style flags: ``-flag v``, ``--flag v``, ``-flag=v``), spec section 7.

2.x: ``chainlink node [-config F]... [-secrets F] start [-a F] [-p F]``; ``node`` has the alias ``local`` and
``start`` the aliases ``node`` and ``n``, so the image default ``local node`` works.
1.x: ``chainlink [-c F]... [-s F] local start [-p F] [-a F]``; ``local`` has the alias ``node``. Without ``-c``/``-s``
the configuration comes from environment variables.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import typing as t

from . import config as cfgmod
from . import schema
from .log import Logger
from .node import Node, flush_and_exit
from .version import Behaviour, Version

START_TIME = time.monotonic()

USAGE = """NAME:
   chainlink - CLI for Chainlink (chainlink-sim {ver}: a test double, not Chainlink)

USAGE:
   chainlink {globals}{node_cmd} start [-a <api file>] [-p <password file>]
"""


class UsageError(Exception):
    """Bad command line: printed like urfave/cli's "Incorrect Usage", exit status 1."""


@dataclasses.dataclass
class Invocation:
    configs: list[str] = dataclasses.field(default_factory=list)
    secrets: str | None = None
    api_file: str | None = None
    password_file: str | None = None
    show_version: bool = False
    show_help: bool = False


@dataclasses.dataclass(frozen=True)
class Flag:
    names: tuple[str, ...]
    field: str
    takes_value: bool = True
    repeat: bool = False


GLOBAL_V2 = (
    Flag(("json", "j"), "", takes_value=False),
    Flag(("admin-credentials-file",), ""),
    Flag(("remote-node-url",), ""),
    Flag(("insecure-skip-verify",), "", takes_value=False),
)
GLOBAL_V1 = (*GLOBAL_V2, Flag(("config", "c"), "configs", repeat=True), Flag(("secrets", "s"), "secrets"))
NODE_V2 = (Flag(("config", "c"), "configs", repeat=True), Flag(("secrets", "s"), "secrets"))
START = (
    Flag(("api", "a"), "api_file"),
    Flag(("password", "p"), "password_file"),
    Flag(("vrfpassword", "vp"), ""),
    Flag(("debug", "d"), "", takes_value=False),
)


def _parse_flags(args: list[str], flags: tuple[Flag, ...], inv: Invocation) -> list[str]:
    """Consume leading flags; return the remaining arguments (the subcommand and what follows)."""
    by_name = {name: flag for flag in flags for name in flag.names}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-h", "--help", "-help"):
            inv.show_help = True
            i += 1
            continue
        if not arg.startswith("-") or arg == "-":
            break
        if arg == "--":
            i += 1
            break
        name, eq, value = arg.lstrip("-").partition("=")
        flag = by_name.get(name)
        if flag is None:
            raise UsageError(f"flag provided but not defined: -{name}")
        if flag.takes_value and not eq:
            if i + 1 >= len(args):
                raise UsageError(f"flag needs an argument: -{name}")
            value = args[i + 1]
            i += 1
        i += 1
        if not flag.field:
            continue
        if flag.repeat:
            getattr(inv, flag.field).append(value)
        else:
            setattr(inv, flag.field, value)
    return args[i:]


def parse_args(argv: list[str], behaviour: Behaviour) -> Invocation:
    inv = Invocation()
    if argv and argv[0] in ("-v", "--version", "-version"):
        inv.show_version = True
        return inv
    rest = _parse_flags(argv, GLOBAL_V1 if behaviour.is_v1 else GLOBAL_V2, inv)
    if inv.show_help:
        return inv
    if not rest or rest[0] not in ("node", "local"):
        raise UsageError(f"unknown command {rest[0]!r}" if rest else "no command given")
    # 1.x's "local" command has no flags of its own; 2.x's "node" carries -config/-secrets.
    rest = _parse_flags(rest[1:], () if behaviour.is_v1 else NODE_V2, inv)
    if _wants_help(inv):
        return inv
    if not rest or rest[0] not in ("start", "node", "n"):
        raise UsageError(f"unknown subcommand {rest[0]!r} (this double only implements 'start', aliases 'node' and 'n')" if rest else "no subcommand given")
    leftover = _parse_flags(rest[1:], START, inv)
    if leftover:
        raise UsageError(f"unexpected arguments: {' '.join(leftover)}")
    if inv.configs and behaviour.is_v1 and not behaviour.supports_toml:
        raise UsageError(f"flag provided but not defined: -config (TOML configuration needs v1.10.0 or later, this is {behaviour.version})")
    return inv


def _wants_help(inv: Invocation) -> bool:
    return inv.show_help


def _read_secret_file(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as exc:
        raise cfgmod.ConfigError(f"error reading {what} from {path}: {exc.strerror}") from exc


def load_config(inv: Invocation, env: t.Mapping[str, str], behaviour: Behaviour) -> cfgmod.Config:
    """Config and secrets in the node's order; raises ``ConfigError`` with the node's messages."""
    toml_mode = not behaviour.is_v1 or bool(inv.configs or inv.secrets or env.get("CL_CONFIG"))
    if not toml_mode:
        cfg = cfgmod.from_env_v1(env, behaviour)
        if inv.password_file is None:
            raise cfgmod.ConfigError("error reading keystore password: no password file given (-p) and no terminal to prompt on")
        cfg.keystore_password = _read_secret_file(inv.password_file, "keystore password")
        return cfg
    if not behaviour.is_v1:
        cfgmod.check_legacy_env(env, behaviour)
    config_spec, secrets_spec = schema.spec_names(behaviour)
    tree: dict[str, t.Any] = {}
    # Each document is decoded strictly on its own (unknown key or wrong type: exit 1), then merged in order.
    for path in inv.configs:
        doc = cfgmod.load_toml_file(path, "config")
        schema.check_strict(doc, config_spec, "config")
        tree = cfgmod.merge_toml(tree, doc)
    if env.get("CL_CONFIG"):
        doc = cfgmod.load_toml_text(env["CL_CONFIG"], "config")
        schema.check_strict(doc, config_spec, "config")
        tree = cfgmod.merge_toml(tree, doc)
    secrets = cfgmod.load_toml_file(inv.secrets, "secrets") if inv.secrets else {}
    schema.check_strict(secrets, secrets_spec, "secrets")
    scoped_env = dict(env)
    if inv.password_file is not None:
        scoped_env["CL_PASSWORD_KEYSTORE"] = _read_secret_file(inv.password_file, "keystore password")
    return cfgmod.from_toml(tree, secrets, scoped_env, behaviour)


def make_logger(cfg: cfgmod.Config, behaviour: Behaviour) -> Logger:
    if cfg.env_config:
        # 1.x with env config names every logger "<ver>@<sha7>.<name>"; TOML configs carry a version field instead.
        return Logger(cfg.log_level, cfg.json_console, cfg.unix_ts, name=behaviour.ver_sha)
    return Logger(cfg.log_level, cfg.json_console, cfg.unix_ts, fields={"version": behaviour.ver_sha})


def main(argv: list[str] | None = None, environ: t.Mapping[str, str] | None = None) -> int:
    env = dict(os.environ if environ is None else environ)
    args = sys.argv[1:] if argv is None else argv
    raw_version = env.get("CHAINLINK_SIM_VERSION", "")
    try:
        behaviour = Behaviour(Version.parse(raw_version))
    except ValueError as exc:
        print(f"chainlink-sim: CHAINLINK_SIM_VERSION: {exc}; set it to the emulated version (the image bakes it in)", file=sys.stderr)
        return 1
    if cfgmod.env_flag(env, "SIM_REFUSE_START"):
        print("chainlink-sim: SIM_REFUSE_START is set: refusing to start (fault injected on purpose)", file=sys.stderr)
        return 1
    try:
        inv = parse_args(args, behaviour)
    except UsageError as exc:
        print(f"Incorrect Usage: {exc}\n", file=sys.stderr)
        print(_usage(behaviour), file=sys.stderr)
        return 1
    if inv.show_version:
        print(f"chainlink version {behaviour.ver_sha}")
        return 0
    if inv.show_help:
        print(_usage(behaviour))
        return 0
    try:
        cfg = load_config(inv, env, behaviour)
        cfgmod.env_seconds(env, "SIM_BOOT_DELAY")
        cfgmod.env_seconds(env, "SIM_SHUTDOWN_DELAY")
    except cfgmod.ConfigError as exc:
        message = str(exc)
        if behaviour.cannot_boot_prefix:
            message = f"Cannot boot Chainlink: {message}"
        print(message, file=sys.stderr)
        return 1
    logger = make_logger(cfg, behaviour)
    for warning in cfg.warnings:
        logger.error(warning, "config/general_config.go:330")
    node = Node(cfg, behaviour, env, inv.api_file, START_TIME, logger)
    return node.run()


def _usage(behaviour: Behaviour) -> str:
    if behaviour.is_v1:
        return USAGE.format(ver=behaviour.version, globals="[-c <config.toml>]... [-s <secrets.toml>] ", node_cmd="local|node")
    return USAGE.format(ver=behaviour.version, globals="", node_cmd="node|local [-config <config.toml>]... [-secrets <secrets.toml>]")


def run() -> t.NoReturn:
    # os._exit: daemon threads (hold loops, web) must not keep a finished process alive, nor run atexit hooks.
    flush_and_exit(main())
