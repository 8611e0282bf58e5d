# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The node's password rules (``core/utils/password.go``, ``core/config/toml/types.go``, ``core/sessions/user.go``).

``verify_complexity`` is ``VerifyPasswordComplexity``: at least 16 bytes, no leading or trailing whitespace, none of
the disallowed strings (case-insensitive). Two generations of its error text exist in the source: the 1.x one
("password does not meet the requirements: ...", multierr joined with "; ") and the later 2.x one (a header listing
the rules, then one tab-indented fault per line); 1.x versions use the first, 2.x the second.
"""

from __future__ import annotations

import re
import urllib.parse

MIN_LEN = 16
MAX_BCRYPT_LEN = 50
_LEADING = re.compile(r"^[\t\n\f\r ]+")
_TRAILING = re.compile(r"[\t\n\f\r ]+$")

REQUIREMENTS_V1 = (
    "\nMust have a length of 16-50 characters\nMust not comprise:\n"
    "\tLeading or trailing whitespace (note that a trailing newline in the password file, if present, will be ignored)\n"
    "\tA user's API email\n"
)
REQUIREMENTS_V2 = (
    "\nMust have a length of 16-50 characters\nMust not comprise:\n"
    "\tLeading or trailing whitespace (note that a trailing newline in the password file, if present, will be ignored)\n"
)
HEADER_V2 = (
    f"\nExpected password complexity:\nMust be at least {MIN_LEN} characters long\nMust not comprise:\n"
    "\tLeading or trailing whitespace\n\tA user's API email\n\nFaults:\n"
)


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def verify_complexity(password: str, v1: bool, *disallowed: str) -> str | None:
    """The error text of ``VerifyPasswordComplexity(password, disallowed...)``, or None when the password passes."""
    whitespace = bool(_LEADING.search(password) or _TRAILING.search(password))
    short = len(password.encode()) < MIN_LEN
    contains = [s for s in disallowed if s and s.lower() in password.lower()]
    if not (whitespace or short or contains):
        return None
    if v1:
        faults = (["must not contain leading or trailing whitespace characters"] if whitespace else []) + (
            [f"must be longer than {MIN_LEN} characters"] if short else []
        )
        faults += [f"password may not contain: {_go_quote(s)}" for s in contains]
        return "password does not meet the requirements: " + "; ".join(faults)
    faults = (["password contains a leading or trailing whitespace"] if whitespace else []) + (
        [f"password is less than {MIN_LEN} characters long"] if short else []
    )
    faults += [f"password may not contain: {_go_quote(s)}" for s in contains]
    return HEADER_V2 + "".join(f"\t{fault}\n" for fault in faults)


def requirements(v1: bool) -> str:
    return REQUIREMENTS_V1 if v1 else REQUIREMENTS_V2


def _redacted(url: urllib.parse.SplitResult) -> str:
    """``url.URL.Redacted()``: the password (if any) replaced by ``xxxxx``."""
    if url.password is None:
        return url.geturl()
    host = url.netloc.rsplit("@", 1)[1]
    return url._replace(netloc=f"{url.username or ''}:xxxxx@{host}").geturl()


def db_url_problem(raw_url: str, v1: bool) -> str | None:
    """``validateDBURL``: a URL containing ``_test`` is exempt; the query ``password=`` wins, else the userinfo."""
    url = urllib.parse.urlsplit(raw_url)
    if "_test" in _redacted(url):
        return None
    password = urllib.parse.parse_qs(url.query).get("password", [""])[0]
    if password == "":
        if "@" not in url.netloc:
            return "DB URL must be authenticated; plaintext URLs are not allowed"
        if url.password is None:
            return "DB URL must be authenticated; password is required"
        password = urllib.parse.unquote(url.password)
    return verify_complexity(password, v1)


def db_url_complexity_message(problem: str, v1: bool) -> str:
    """``dbURLPasswordComplexity``: the message of the ``URL: invalid value (*****)`` error."""
    return (
        f"missing or insufficiently complex password: {problem}. Database should be secured by a password matching the "
        f"following complexity requirements: {requirements(v1)}"
    )


def api_password_problem(password: str, v1: bool) -> str | None:
    """``sessions.NewUser`` via ``ValidateAndHashPassword``: complexity first, then at most 50 characters."""
    problem = verify_complexity(password, v1)
    if problem is not None:
        return f"password insufficiently complex:\n{requirements(v1)}: {problem}"
    if len(password.encode()) > MAX_BCRYPT_LEN:
        return f"must enter a password less than {MAX_BCRYPT_LEN} characters"
    return None
