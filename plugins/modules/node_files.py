#!/usr/bin/python
# Copyright: contributors to nodeops.chainlink
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style 6.3)

from __future__ import annotations

DOCUMENTATION = r"""
module: node_files
short_description: Converge a Chainlink instance's config directory in one step
version_added: 0.1.0
description:
  - Brings one directory (a Chainlink instance's config directory, bind-mounted into its container) to a given set of
    files - creating the directory, writing each file whose content, mode or ownership differs, and removing the files
    listed in O(absent) - in one task instead of one task per file.
  - A file whose content differs is written to a temporary file in the same directory (with its owner, group and mode)
    and moved over the old one, so the container never reads a half-written file. A file whose content is right but
    whose mode or ownership differs is fixed in place, keeping its modification time.
  - Returns the newest modification time of the managed files (RV(newest_mtime)), which tells whether a running
    container started before its files were last written (a restart is pending), and the names of the settings that
    differ (RV(settings)) - the keys of a TOML file, never their values.
  - In check mode every comparison runs (the files are read) and nothing is written.
extends_documentation_fragment:
  - nodeops.chainlink._attributes
attributes:
  check_mode:
    support: full
    details:
      - The files are read and compared; RV(changed_files), RV(differences) and RV(settings) say what a real run would do.
  diff_mode:
    support: partial
    details:
      - Only files with C(secret=false) show their content, and in it every URL (an RPC URL often carries an API key)
        and every value of a key naming a secret (password, secret, token, key, credential, auth) of a TOML file is
        masked, as is any URL's password and C(password=) value; a secret file, a removal and a mode or ownership change
        are one line naming the file.
  idempotent:
    support: full
options:
  path:
    description:
      - The directory. Created (with its parents) when missing, then given mode C(0700), O(owner) and O(group).
    type: path
    required: true
  owner:
    description:
      - User ID owning the directory and the files (the user the container runs as). Omit to leave ownership alone.
    type: int
  group:
    description:
      - Group ID of the directory and the files. Omit to leave it alone.
    type: int
  files:
    description:
      - The files the directory must hold, as a dict of file name (no directory part) to its settings.
      - Each value is a dict with C(content) (the text, required, written as UTF-8), C(mode) (an octal string such as
        V(0640); default V(0600)) and C(secret) (whether the content may appear in a diff; default V(true)).
      - Files in the directory that are in neither O(files) nor O(absent) are left alone.
      - The whole option is C(no_log) because it carries secrets; the content of files with C(secret=false) still shows
        in C(--diff) output.
    type: dict
    required: true
  absent:
    description:
      - File names to remove if present - the files an older configuration format wrote and the current one does not use.
      - A name may not be in O(files) too.
    type: list
    elements: str
    default: []
notes:
  - A file name's TOML keys are compared when it is C(config.toml) or C(secrets.toml) and both texts parse (Python 3.11 and
    later, whose C(tomllib) reads TOML); otherwise RV(settings) names the file as a whole.
author:
  - nodeops.chainlink maintainers (@nodeops)
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
  - name: The node role's config directory
    description: Which files each configuration format writes, and why secrets live in files.
    link: https://github.com/nodeops/chainlink/blob/main/docs/inventory.md
"""

EXAMPLES = r"""
---
- name: Write a 2.x instance's files (config and secrets rendered from templates), removing the 1.x password file
  nodeops.chainlink.node_files:
    path: /srv/chainlink/primary
    owner: 14933
    group: 14933
    files:
      config.toml:
        content: "{{ lookup('ansible.builtin.template', 'config.toml.j2') }}"
        mode: "0640"
        secret: false
      secrets.toml:
        content: "{{ lookup('ansible.builtin.template', 'secrets.toml.j2') }}"
        mode: "0600"
      .api:
        content: "{{ api_email }}\n{{ api_password }}\n"
    absent:
      - .password
  register: __files

- name: Restart the container when a file is newer than its start
  community.docker.docker_container:
    name: chainlink-primary
    state: started
    restart: true
  when: __files.newest_mtime > started_epoch | float

- name: Say which settings would change, by name, without changing anything
  nodeops.chainlink.node_files:
    path: /srv/chainlink/primary
    owner: 14933
    group: 14933
    files: "{{ desired_files }}"
  check_mode: true
  register: __plan

- name: Show them
  ansible.builtin.debug:
    msg: "{{ __plan.settings | join('; ') or 'files as desired' }}"

- name: Remove every file of the instance but the API credentials
  nodeops.chainlink.node_files:
    path: /srv/chainlink/primary
    files:
      .api:
        content: "{{ api_email }}\n{{ api_password }}\n"
    absent: [config.toml, secrets.toml, .password]
"""

RETURN = r"""
changed_files:
  description: The files written or removed (or that would be, in check mode), in the order of O(files), then O(absent).
  returned: success
  type: list
  elements: str
  sample: [config.toml, .password]
differences:
  description:
    - What differed, per file written or removed - V(content) (also for a new file), V(mode), V(owner), V(group) or
      V(removed). The key V(.) is the directory itself (V(created), V(mode), V(owner), V(group)).
    - Files that were already right are not listed.
  returned: success
  type: dict
  sample: {".": [mode], config.toml: [content], secrets.toml: [mode, owner], .password: [removed]}
newest_mtime:
  description:
    - The newest modification time (seconds since the epoch) among the files of O(files) as they are after the run
      (in check mode, as they are now); V(0.0) when none exists.
    - A container that started before this time does not run with its current files.
  returned: success
  type: float
  sample: 1796540401.237
settings:
  description:
    - "What differs in the content of each file written (or that would be), by name and never by value, sorted by file
      name - one C(config.toml: <dotted key>) per TOML key added, removed or changed (C(config.toml: layout only) when only
      comments or layout differ), and the file name for a new file, a file that is not TOML or a TOML file that does not
      parse. Removed files are in RV(changed_files), not here."
    - The same strings as the filter P(nodeops.chainlink.setting_changes#filter) gives.
  returned: success
  type: list
  elements: str
  sample: ["config.toml: Log.Level", "secrets.toml: Database.URL", .api]
diff:
  description:
    - With C(--diff), one entry per file in RV(differences) - the text before and after for a file with C(secret=false)
      whose content differs, otherwise a line naming the file and what differs.
  returned: success, in diff mode, when something differs
  type: list
  elements: dict
"""

import contextlib
import dataclasses
import os
import stat
import tempfile
import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.nodeops.chainlink.plugins.module_utils._redact import redact_text, secret_values
from ansible_collections.nodeops.chainlink.plugins.module_utils._settings import HAS_TOMLLIB, files_changes

if HAS_TOMLLIB:
    import tomllib  # type: ignore[import-not-found,unused-ignore]  # the Python 3.10 check (nodeops lint) finds none

DIRECTORY_MODE = 0o700
DEFAULT_MODE = "0600"
FILE_KEYS = {"content", "mode", "secret"}


class NodeFilesError(Exception):
    """A file or the directory could not be compared, written or removed; the message names which and why."""


@dataclasses.dataclass(frozen=True)
class DesiredFile:
    name: str
    text: str
    mode: int
    secret: bool


@dataclasses.dataclass(frozen=True)
class Parameters:
    path: str
    owner: int | None
    group: int | None
    files: tuple[DesiredFile, ...]
    absent: tuple[str, ...]


def _check_name(name: t.Any, option: str) -> str:
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\0" in name:
        raise ValueError(f"{option} names files inside path, without a directory part; got {name!r}.")
    return name


def _mode(name: str, value: t.Any) -> int:
    """An octal string (V(0640), V(640)) or a number that YAML already read (an unquoted 0640 is 416)."""
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    elif isinstance(value, str) and value.isdigit() and set(value) <= set("01234567"):
        mode = int(value, 8)
    else:
        raise ValueError(f"files.{name}.mode must be an octal string such as '0640', got {value!r}.")
    if not 0 <= mode <= 0o7777:
        raise ValueError(f"files.{name}.mode is out of range (at most 07777), got {value!r}.")
    return mode


def check_parameters(params: t.Mapping[str, t.Any]) -> Parameters:
    """The module's options as a Parameters object, or ValueError naming the option, what is wrong and never a content."""
    files = []
    for name, spec in params["files"].items():
        _check_name(name, "files")
        if not isinstance(spec, dict):
            raise ValueError(f"files.{name} must be a dict with content, mode and secret, got {type(spec).__name__}.")
        unknown = sorted(set(spec) - FILE_KEYS)
        if unknown:
            raise ValueError(f"files.{name} has unknown keys {', '.join(unknown)} (known: {', '.join(sorted(FILE_KEYS))}).")
        content = spec.get("content")
        if content is None or isinstance(content, dict | list | bool):
            raise ValueError(f"files.{name}.content must be the file's text, got {type(content).__name__}.")
        try:
            secret = boolean(spec.get("secret", True), strict=True)
        except TypeError as exc:
            raise ValueError(f"files.{name}.secret: {exc}") from None
        files.append(DesiredFile(name=name, text=str(content), mode=_mode(name, spec.get("mode", DEFAULT_MODE)), secret=secret))
    absent = tuple(_check_name(name, "absent") for name in params["absent"])
    both = sorted(set(absent) & set(params["files"]))
    if both:
        raise ValueError(f"{', '.join(both)} cannot be in both files and absent.")
    return Parameters(path=params["path"], owner=params["owner"], group=params["group"], files=tuple(files), absent=absent)


def hidden_values(text: str) -> list[str]:
    """The values of a TOML text that are never shown: its URLs (an RPC URL often carries an API key) and the values of
    keys naming a secret (module_utils/_redact.py); none for a text that is not TOML."""
    if HAS_TOMLLIB:
        with contextlib.suppress(tomllib.TOMLDecodeError):
            return secret_values(config=tomllib.loads(text))
    return []


def shown_text(text: str) -> str:
    """A file's text as a diff may show it: hidden_values masked, and any URL's password and password= value."""
    return redact_text(text, hidden_values(text))


@contextlib.contextmanager
def _doing(what: str) -> t.Iterator[None]:
    """Turn an OSError into a NodeFilesError that says what was being done to which file."""
    try:
        yield
    except OSError as exc:
        raise NodeFilesError(f"{what}: {exc.strerror or exc}") from exc


class NodeFilesManager:
    """Compares the directory and its files with the parameters, then (outside check mode) makes them so."""

    def __init__(self, params: Parameters, check_mode: bool, diff_mode: bool) -> None:
        self.p = params
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.differences: dict[str, list[str]] = {}
        self.diff: list[dict[str, t.Any]] = []
        # For the names of what changed: the current (when the file exists) and desired texts of the files whose content differs
        self.current_texts: dict[str, str] = {}
        self.desired_texts: dict[str, str] = {}

    def _full(self, name: str) -> str:
        return os.path.join(self.p.path, name)

    def _attributes(self, st: os.stat_result, mode: int) -> list[str]:
        """Which of mode, owner and group differ from the parameters."""
        out = ["mode"] if stat.S_IMODE(st.st_mode) != mode else []
        if self.p.owner is not None and st.st_uid != self.p.owner:
            out.append("owner")
        if self.p.group is not None and st.st_gid != self.p.group:
            out.append("group")
        return out

    def _attribute_line(self, name: str, st: os.stat_result, mode: int, what: list[str]) -> str:
        now = {"mode": f"{stat.S_IMODE(st.st_mode):04o}", "owner": str(st.st_uid), "group": str(st.st_gid)}
        wanted = {"mode": f"{mode:04o}", "owner": str(self.p.owner), "group": str(self.p.group)}
        return f"{name}: " + ", ".join(f"{key} {now[key]} -> {wanted[key]}" for key in what)

    def _set_attributes(self, full: str, mode: int, what: list[str]) -> None:
        if self.check_mode:
            return
        with _doing(f"Setting the owner and mode of {full}"):
            if "owner" in what or "group" in what:
                os.chown(full, -1 if self.p.owner is None else self.p.owner, -1 if self.p.group is None else self.p.group)
            os.chmod(full, mode)

    def directory(self) -> bool:
        """Converge the directory; False when it does not exist (in check mode: would be created)."""
        path = self.p.path
        with _doing(f"Reading directory {path}"):
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
        if st is None:
            self.differences["."] = ["created"]
            if self.diff_mode:
                self.diff.append({"prepared": f"{path}: directory created"})
            if not self.check_mode:
                with _doing(f"Creating directory {path}"):
                    os.makedirs(path, mode=DIRECTORY_MODE)
                self._set_attributes(path, DIRECTORY_MODE, ["mode", "owner", "group"])
            return not self.check_mode
        if not stat.S_ISDIR(st.st_mode):
            raise NodeFilesError(f"{path} exists and is not a directory")
        what = self._attributes(st, DIRECTORY_MODE)
        if what:
            self.differences["."] = what
            if self.diff_mode:
                self.diff.append({"prepared": self._attribute_line(path, st, DIRECTORY_MODE, what)})
            self._set_attributes(path, DIRECTORY_MODE, what)
        return True

    def _read(self, full: str) -> tuple[os.stat_result, bytes] | None:
        """The file's status and content, or None when it does not exist."""
        with _doing(f"Reading {full}"):
            try:
                with open(full, "rb") as handle:
                    return os.fstat(handle.fileno()), handle.read()
            except FileNotFoundError:
                return None

    def file(self, desired: DesiredFile, exists: bool) -> None:
        full = self._full(desired.name)
        content = desired.text.encode("utf-8")
        found = self._read(full) if exists else None
        if found is None or found[1] != content:
            self.differences[desired.name] = ["content"]
            if found is not None:
                self.current_texts[desired.name] = found[1].decode("utf-8", "replace")
            self.desired_texts[desired.name] = desired.text
            if self.diff_mode:
                self.diff.append(self._content_diff(desired, full))
            if not self.check_mode:
                self._write(desired, full, content)
            return
        what = self._attributes(found[0], desired.mode)
        if what:
            self.differences[desired.name] = what
            if self.diff_mode:
                self.diff.append({"prepared": self._attribute_line(full, found[0], desired.mode, what)})
            self._set_attributes(full, desired.mode, what)

    def _content_diff(self, desired: DesiredFile, full: str) -> dict[str, t.Any]:
        if desired.secret:
            state = "content differs" if desired.name in self.current_texts else "created"
            return {"prepared": f"{full}: {state} (secret, not shown)"}
        before = self.current_texts.get(desired.name, "")
        return {"before_header": full, "after_header": full, "before": shown_text(before), "after": shown_text(desired.text)}

    def _write(self, desired: DesiredFile, full: str, content: bytes) -> None:
        """A temporary file beside the target, with its owner and mode, moved over it: never a half-written file."""
        with _doing(f"Writing {full}"):
            fd, temp = tempfile.mkstemp(dir=self.p.path, prefix=f".{desired.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    if self.p.owner is not None or self.p.group is not None:
                        os.fchown(handle.fileno(), -1 if self.p.owner is None else self.p.owner, -1 if self.p.group is None else self.p.group)
                    os.fchmod(handle.fileno(), desired.mode)
                    os.fsync(handle.fileno())
                os.replace(temp, full)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
                raise

    def remove(self, name: str) -> None:
        full = self._full(name)
        with _doing(f"Removing {full}"):
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                return
            if stat.S_ISDIR(st.st_mode):
                raise NodeFilesError(f"{full} is a directory; absent removes files only")
            self.differences[name] = ["removed"]
            if self.diff_mode:
                self.diff.append({"prepared": f"{full}: removed"})
            if not self.check_mode:
                os.unlink(full)

    def newest_mtime(self) -> float:
        newest = 0.0
        for desired in self.p.files:
            full = self._full(desired.name)
            with _doing(f"Reading the modification time of {full}"), contextlib.suppress(FileNotFoundError):
                newest = max(newest, os.stat(full).st_mtime)
        return newest

    def converge(self) -> dict[str, t.Any]:
        exists = self.directory()
        for desired in self.p.files:
            self.file(desired, exists)
        if exists:
            for name in self.p.absent:
                self.remove(name)
        written = [name for name in self.differences if name != "."]
        if not self.check_mode and written:
            # The renames and removals are durable once the directory's entry is.
            with _doing(f"Syncing directory {self.p.path}"):
                dir_fd = os.open(self.p.path, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        result: dict[str, t.Any] = {
            "changed": bool(self.differences),
            "changed_files": written,
            "differences": self.differences,
            "newest_mtime": self.newest_mtime() if exists else 0.0,
            "settings": files_changes(self.current_texts, self.desired_texts),
        }
        if self.diff_mode and self.diff:
            result["diff"] = self.diff
        return result


def _show_modes(module: AnsibleModule) -> None:
    """Let the modes appear in messages and the diff (see _show_plain_texts); a secret file's text may not be one."""
    specs = [spec for spec in module.params["files"].values() if isinstance(spec, dict)]
    secrets = {str(spec.get("content")) for spec in specs}
    module.no_log_values.difference_update({str(spec["mode"]) for spec in specs if "mode" in spec} - secrets)


def _show_plain_texts(module: AnsibleModule, params: Parameters) -> None:
    """Let the files that are not secret appear in the diff.

    ``files`` is no_log as a whole (it carries secrets, and its keys are file names, so no per-key no_log exists), and
    AnsibleModule masks every string of a no_log option wherever it appears in the result: the text of C(config.toml)
    in its own diff, a mode in an attribute line. Those are taken out of the masked values again, unless a secret
    file has the same text.
    """
    secrets = {f.text for f in params.files if f.secret}
    module.no_log_values.difference_update({f.text for f in params.files if not f.secret} - secrets)
    # their secret values stay masked, also in the invocation (-vvv) that shows the texts
    module.no_log_values.update(value for f in params.files if not f.secret for value in hidden_values(f.text))


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "owner": {"type": "int"},
            "group": {"type": "int"},
            "files": {"type": "dict", "required": True, "no_log": True},
            "absent": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    path = module.params["path"]
    _show_modes(module)
    try:
        params = check_parameters(module.params)
    except ValueError as exc:
        module.fail_json(msg=f"Invalid options for node_files on '{path}': {exc}")
    _show_plain_texts(module, params)
    manager = NodeFilesManager(params, module.check_mode, module._diff)
    try:
        result = manager.converge()
    except NodeFilesError as exc:
        module.fail_json(msg=f"Failed to converge the files of '{path}': {exc}", exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
