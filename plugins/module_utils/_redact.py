# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""The one redaction of the collection: what counts as a secret, and how it is masked in text and in data.

Used by the PostgreSQL client (messages, queries), log_wait (raw log lines in its messages and results), node_files
(the config's secret values in a diff) and, through the filters redact and secret_values, by the roles (container
results of a 1.x node, failure messages, the handover report).

- A secret given (a password, a database URL) is masked in every form it may be printed in: as given, its URL
  password (raw and percent-decoded) and a C(password=) parameter in it (URL query or libpq key=value string).
- Whatever the secrets given, a password in a URL's userinfo (C(scheme://user:PASSWORD@)) and the value of a
  C(password=) parameter are masked too: a raw log line may carry a URL the inventory never named.
- Of a configuration (chainlink_config_extra, an environment), only the values that may be secret count: URLs (an RPC
  URL often carries an API key in its path or query) and the values of keys that name a secret (password, secret,
  token, key, credential, auth).
"""

from __future__ import annotations

import re
import typing as t
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "********"

# scheme://user:PASSWORD@ - the user stays readable, the password goes
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\"]*:)(?P<secret>[^\s/@'\"]+)(?=@)")
# password=VALUE in a URL's query or a libpq key=value string (also sslpassword); a quoted libpq value whole
_PASSWORD_PARAM = re.compile(r"(?P<head>\b(?:ssl)?password\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'|[^\s&'\",;]+)", re.IGNORECASE)
# Configuration keys whose values are secret whatever they look like
_SECRET_KEY = re.compile(r"pass|secret|token|key|credential|auth", re.IGNORECASE)


def secret_forms(value: t.Any) -> list[str]:
    """Every form in which a secret (a password, or a URL / key=value string holding one) may be printed, longest first."""
    if not isinstance(value, str) or not value:
        return []
    found = {value}
    try:
        parts = urlsplit(value)
        if parts.password:
            found.update({parts.password, unquote(parts.password)})
        found.update(v for k, v in parse_qsl(parts.query) if k.lower() == "password" and v)
    except ValueError:
        pass  # not a URL: the key=value form below may still hold a password
    for match in _PASSWORD_PARAM.finditer(value):
        secret = match.group("secret")
        found.update({secret, secret.strip("'"), unquote(secret)})
    found.discard("")
    return sorted(found, key=len, reverse=True)


def _leaves(data: t.Any, key: str = "") -> t.Iterator[tuple[str, str]]:
    """(key, string) of every string in a structure; a list's items take the key of the list."""
    if isinstance(data, str):
        yield key, data
    elif isinstance(data, t.Mapping):
        for name, value in data.items():
            yield from _leaves(value, str(name))
    elif isinstance(data, list | tuple | set):
        for value in data:
            yield from _leaves(value, key)


def secret_values(secrets: t.Any = None, config: t.Any = None) -> list[str]:
    """The strings to mask: every string of ``secrets`` (all secret), and of ``config`` the URLs and the values of keys
    that name a secret; each in all its forms (secret_forms), longest first."""
    found: set[str] = set()
    for _key, value in _leaves(secrets):
        found.update(secret_forms(value))
    for key, value in _leaves(config):
        if "://" in value or _SECRET_KEY.search(key):
            found.update(secret_forms(value))
    return sorted(found, key=len, reverse=True)


def redact_text(text: str, secrets: t.Iterable[str] = ()) -> str:
    """The text with every secret given (each as given: expand them with secret_values), every URL userinfo password
    and every password= value masked."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: m.group("head") + MASK, text)
    return _PASSWORD_PARAM.sub(lambda m: m.group("head") + MASK, text)


def redact(data: t.Any, secrets: t.Iterable[str] = ()) -> t.Any:
    """``data`` (a string, or dicts and lists of them: a module result, a report) with redact_text applied to every string,
    dict keys included; other values unchanged."""
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
    return _redact(data, ordered)


def _redact(data: t.Any, secrets: list[str]) -> t.Any:
    if isinstance(data, str):
        return redact_text(data, secrets)
    if isinstance(data, t.Mapping):
        return {_redact(k, secrets) if isinstance(k, str) else k: _redact(v, secrets) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_redact(v, secrets) for v in data]
    return data
