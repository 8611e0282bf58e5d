# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulated Chainlink version and the behaviour switches that hang on it (spec sections 1-7)."""

from __future__ import annotations

import dataclasses
import hashlib
import re

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


@dataclasses.dataclass(frozen=True)
class Version:
    """A semantic version as the node compares them (pre-releases sort before their release)."""

    major: int
    minor: int
    patch: int
    pre: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _SEMVER.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a semantic version (expected X.Y.Z, e.g. 2.29.0)")
        return cls(int(match[1]), int(match[2]), int(match[3]), match[4] or "")

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.patch}"
        return f"{base}-{self.pre}" if self.pre else base

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        pre_parts: tuple[tuple[int, int | str], ...] = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.pre.split(".")) if self.pre else ()
        # A release (no pre-release) sorts after every pre-release of the same X.Y.Z.
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre_parts)

    def __lt__(self, other: Version) -> bool:
        return self.key() < other.key()

    def __gt__(self, other: Version) -> bool:
        return self.key() > other.key()

    def at_least(self, major: int, minor: int, patch: int = 0) -> bool:
        return (self.major, self.minor, self.patch) >= (major, minor, patch)


@dataclasses.dataclass(frozen=True)
class Behaviour:
    """Version-dependent behaviour, each switch named after the spec note it encodes."""

    version: Version

    @property
    def is_v1(self) -> bool:
        return self.version.major < 2

    @property
    def sha(self) -> str:
        # The double has no commit; a stable fake SHA keeps the "<ver>@<sha7>" fields well-formed.
        return hashlib.sha1(f"chainlink-sim {self.version}".encode()).hexdigest()

    @property
    def ver_sha(self) -> str:
        return f"{self.version}@{self.sha[:7]}"

    @property
    def supports_toml(self) -> bool:
        # 1.10 introduced TOML (experimental); 2.0 made it the only form.
        return self.version.at_least(1, 10)

    @property
    def toml_lock_has_enabled(self) -> bool:
        # Database.Lock.Enabled arrived with PR #8054, first in v1.11.0.
        return self.version.at_least(1, 11)

    @property
    def default_env_locking_mode(self) -> str:
        # advisorylock in 1.1.0-1.2.x, dual from 1.3.0 (PR #6186).
        return "dual" if self.version.at_least(1, 3) else "advisorylock"

    @property
    def lease_lost_message(self) -> str:
        # v1.1.x ends the line at "exiting"; "immediately" follows from v1.2.0.
        return "Another node has taken the lease, exiting" + (" immediately" if self.version.at_least(1, 2) else "")

    @property
    def logs_shutdown_signal(self) -> bool:
        # "Shutting down due to <signal> signal received..." exists from v1.3.0; v1.2.x stops without it.
        return self.version.at_least(1, 3)

    @property
    def cannot_boot_prefix(self) -> bool:
        # "Cannot boot Chainlink: " wrapped start-up errors until PR #7736 (v1.10.0).
        return not self.version.at_least(1, 10)

    @property
    def listen_message_has_ip(self) -> bool:
        # WebServer.ListenIP (PR #9621, v2.3.0) changed the message to "<ip>:<port>".
        return self.version.at_least(2, 3)

    @property
    def health_failing_status(self) -> int:
        # /health answers 207 Multi-Status instead of 503 from v2.9.0.
        return 207 if self.version.at_least(2, 9) else 503

    @property
    def has_health_txt(self) -> bool:
        return self.version.at_least(2, 9)

    @property
    def health_failing_filter(self) -> bool:
        return self.version.at_least(2, 16)

    @property
    def startup_health_server(self) -> bool:
        # handleNodeVersioning's StartUpHealthReport (core/services/health.go): from v2.16.0, absent in v2.14.0.
        return self.version.at_least(2, 16)

    @property
    def migration_count(self) -> int:
        """How many goose migrations this version ships: the double's stand-in for ``max(version_id)``.

        Grows with the version as the real numbering does (every release adds migrations, none is ever removed):
        ten per minor release, none per patch (1.11.0: 1110, 2.28.0: 2280, 2.29.0: 2290).
        """
        return (self.version.major * 100 + self.version.minor) * 10

    @property
    def symmetric_jitter(self) -> bool:
        # 1.x utils.WithJitter adds 0..+10 %; 2.x (chainlink-common JitterPct(0.1)) gives -10..+10 %.
        return not self.is_v1

    @property
    def lock_logger_prefix(self) -> str:
        # v1.11 and 2.x up to v2.29.0 build the lock loggers under RunNode (PR #19089 dropped it later).
        return "RunNode." if not self.version.at_least(2, 30) else ""
