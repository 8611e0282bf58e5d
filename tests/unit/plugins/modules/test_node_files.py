# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""node_files as a whole, on a temporary directory: write, idempotence, attributes, removal, check mode, names, secrets.

The tests run main() through tests.support.ansible_module.run_module, so each result is what a playbook receives (no_log
values already removed).
"""

from __future__ import annotations

import os
import stat
import typing as t
from pathlib import Path

import pytest

from ansible_collections.nodeops.chainlink.plugins.filter.setting_changes import setting_changes
from ansible_collections.nodeops.chainlink.plugins.modules import node_files
from tests.support.ansible_module import run_module

CONFIG = '# Ansible managed\n[Log]\nLevel = "info"\n\n[WebServer]\nHTTPPort = 6688\n'
DB_SECRET = "db-Passw0rd-secret-1"
SECRETS = f'[Database]\nURL = "postgresql://u:{DB_SECRET}@127.0.0.1/cl"\n\n[Password]\nKeystore = "keystore-Passw0rd-1"\n'
API = "admin@example.com\napi-Passw0rd-0123456\n"
SECRET_WORDS = ("Passw0rd", DB_SECRET, "keystore-Passw0rd-1", "api-Passw0rd-0123456")


def files(config: str = CONFIG, secrets: str = SECRETS, api: str = API, config_mode: str = "0640") -> dict[str, t.Any]:
    return {
        "config.toml": {"content": config, "mode": config_mode, "secret": False},
        "secrets.toml": {"content": secrets, "mode": "0600", "secret": True},
        ".api": {"content": api},  # mode 0600 and secret by default
    }


def run(path: Path, check: bool = False, diff: bool = False, **given: t.Any) -> dict[str, t.Any]:
    args: dict[str, t.Any] = {"path": str(path), "owner": os.getuid(), "group": os.getgid(), "files": files(), "absent": [".password"]}
    args.update(given, _ansible_check_mode=check, _ansible_diff=diff)
    return run_module(node_files.main, args)


def mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def snapshot(path: Path) -> dict[str, tuple[bytes, int, str]]:
    """Every file of the directory with its content, mtime (ns) and mode."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns, mode(p)) for p in sorted(path.iterdir())}


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return tmp_path / "state" / "node-a"


def test_write_creates_the_directory_and_the_files(cfg: Path) -> None:
    result = run(cfg)
    assert result["changed"] is True and not result.get("failed")
    assert result["changed_files"] == ["config.toml", "secrets.toml", ".api"]
    assert result["differences"] == {".": ["created"], "config.toml": ["content"], "secrets.toml": ["content"], ".api": ["content"]}
    assert result["settings"] == [".api", "config.toml", "secrets.toml"]  # new files are named whole
    assert mode(cfg) == "0700"
    assert {p.name: (p.read_text(), mode(p)) for p in cfg.iterdir()} == {
        "config.toml": (CONFIG, "0640"),
        "secrets.toml": (SECRETS, "0600"),
        ".api": (API, "0600"),
    }  # and no temporary file is left
    assert result["newest_mtime"] == max(p.stat().st_mtime for p in cfg.iterdir())


def test_second_run_changes_nothing(cfg: Path) -> None:
    first = run(cfg)
    before = snapshot(cfg)
    again = run(cfg)
    assert again["changed"] is False
    assert again["changed_files"] == [] and again["differences"] == {} and again["settings"] == []
    assert again["newest_mtime"] == first["newest_mtime"]
    assert snapshot(cfg) == before
    assert run(cfg, check=True)["changed"] is False


def test_a_changed_setting_is_named_by_key_and_rewritten(cfg: Path) -> None:
    run(cfg)
    newer = CONFIG.replace('"info"', '"debug"')
    rotated = SECRETS.replace(DB_SECRET, "db-Passw0rd-rotated-2")
    result = run(cfg, files=files(config=newer, secrets=rotated))
    assert result["changed_files"] == ["config.toml", "secrets.toml"]
    assert result["settings"] == ["config.toml: Log.Level", "secrets.toml: Database.URL"]
    # the same strings as the filter the plan used to call
    assert result["settings"] == setting_changes({"config.toml": CONFIG, "secrets.toml": SECRETS}, {"config.toml": newer, "secrets.toml": rotated})
    assert (cfg / "config.toml").read_text() == newer and (cfg / "secrets.toml").read_text() == rotated
    assert result["newest_mtime"] == max((cfg / name).stat().st_mtime for name in ("config.toml", "secrets.toml", ".api"))


def test_a_mode_change_is_fixed_in_place_keeping_the_mtime(cfg: Path) -> None:
    run(cfg)
    (cfg / "config.toml").chmod(0o644)
    cfg.chmod(0o755)
    mtime = (cfg / "config.toml").stat().st_mtime_ns
    result = run(cfg, diff=True)
    assert result["changed"] is True
    assert result["differences"] == {".": ["mode"], "config.toml": ["mode"]}
    assert result["changed_files"] == ["config.toml"] and result["settings"] == []
    assert mode(cfg / "config.toml") == "0640" and mode(cfg) == "0700"
    assert (cfg / "config.toml").stat().st_mtime_ns == mtime  # no rewrite: no restart for a mode change
    # the modes are options of the no_log files option, yet not secret: the diff shows them
    assert {"prepared": f"{cfg / 'config.toml'}: mode 0644 -> 0640"} in result["diff"]
    # the mode asked for changed: fixed too
    assert run(cfg, files=files(config_mode="0600"))["differences"] == {"config.toml": ["mode"]}
    assert mode(cfg / "config.toml") == "0600"


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_an_owner_or_group_change_is_fixed(cfg: Path) -> None:
    run(cfg)
    os.chown(cfg / "secrets.toml", 12345, -1)
    result = run(cfg)
    assert result["differences"] == {"secrets.toml": ["owner"]}
    assert (cfg / "secrets.toml").stat().st_uid == os.getuid()
    # another owner and group asked for: the directory and every file
    result = run(cfg, owner=14933, group=14934)
    assert result["differences"] == {name: ["owner", "group"] for name in (".", "config.toml", "secrets.toml", ".api")}
    assert {(p.stat().st_uid, p.stat().st_gid) for p in [cfg, *cfg.iterdir()]} == {(14933, 14934)}
    assert run(cfg, owner=14933, group=14934)["changed"] is False


def test_without_owner_and_group_ownership_is_left_alone(cfg: Path) -> None:
    run(cfg)
    result = run(cfg, owner=None, group=None)
    assert result["changed"] is False


def test_absent_files_are_removed_when_present(cfg: Path) -> None:
    run(cfg)
    (cfg / ".password").write_text("keystore-Passw0rd-1")
    (cfg / "unrelated").write_text("kept")
    result = run(cfg, diff=True)
    assert result["changed"] is True and result["changed_files"] == [".password"]
    assert result["differences"] == {".password": ["removed"]} and result["settings"] == []
    assert result["diff"] == [{"prepared": f"{cfg / '.password'}: removed"}]
    assert not (cfg / ".password").exists() and (cfg / "unrelated").read_text() == "kept"
    assert run(cfg)["changed"] is False


def test_check_mode_writes_nothing_but_reports_what_a_run_would_do(cfg: Path) -> None:
    # a missing directory: everything would be created, nothing is
    result = run(cfg, check=True)
    assert result["changed"] is True and result["changed_files"] == ["config.toml", "secrets.toml", ".api"]
    assert result["newest_mtime"] == 0.0
    assert not cfg.exists()

    run(cfg)
    (cfg / ".password").write_text("old")
    (cfg / ".api").chmod(0o644)
    before = snapshot(cfg)
    result = run(cfg, check=True, files=files(config=CONFIG.replace("6688", "6690")))
    assert result["changed"] is True
    assert result["differences"] == {"config.toml": ["content"], ".api": ["mode"], ".password": ["removed"]}
    assert result["settings"] == ["config.toml: WebServer.HTTPPort"]
    assert snapshot(cfg) == before
    # the mtime of the files as they are: what the restart decision compares with the container's start
    assert result["newest_mtime"] == max((cfg / name).stat().st_mtime for name in ("config.toml", "secrets.toml", ".api"))


def test_diff_shows_the_plain_file_and_only_names_the_secret_ones(cfg: Path) -> None:
    run(cfg)
    newer = CONFIG.replace('"info"', '"warn"')
    result = run(cfg, diff=True, files=files(config=newer, secrets=SECRETS.replace("keystore-Passw0rd-1", "keystore-Passw0rd-2")))
    config_path, secrets_path = str(cfg / "config.toml"), str(cfg / "secrets.toml")
    assert result["diff"] == [
        {"before_header": config_path, "after_header": config_path, "before": CONFIG, "after": newer},
        {"prepared": f"{secrets_path}: content differs (secret, not shown)"},
    ]
    assert result["settings"] == ["config.toml: Log.Level", "secrets.toml: Password.Keystore"]


def test_diff_of_the_config_masks_its_urls_and_secret_named_values_before_and_after(cfg: Path) -> None:
    """chainlink_config_extra lands in config.toml: an RPC URL's API key (also the one being replaced) never shows."""
    old_rpc, new_rpc = "wss://eth.example.org/ws/v3/old-ApiKey-1234", "https://user:new-Passw0rd-99@eth.example.org/v3/new-ApiKey-5678"
    with_rpc = CONFIG + f'\n[[EVM]]\nChainID = "1"\n\n[[EVM.Nodes]]\nName = "primary"\nWSURL = "{old_rpc}"\n'
    run(cfg, files=files(config=with_rpc))
    newer = with_rpc.replace(old_rpc, new_rpc) + '\n[Mercury.Credentials.feed]\nPassword = "mercury-pw-77"\n'
    result = run(cfg, diff=True, files=files(config=newer))
    diff = result["diff"][0]
    assert 'WSURL = "********"' in diff["before"] and 'WSURL = "********"' in diff["after"] and 'Password = "********"' in diff["after"]
    assert 'Name = "primary"' in diff["after"] and 'Level = "info"' in diff["after"]  # the rest shows as it is
    assert not any(word in repr(result) for word in ("old-ApiKey", "new-ApiKey", "new-Passw0rd", "mercury-pw"))
    assert result["settings"] == ["config.toml: EVM[0].Nodes[0].WSURL", "config.toml: Mercury"]
    assert (cfg / "config.toml").read_text() == newer  # only the diff is masked, not the file


@pytest.mark.parametrize("check", [False, True])
def test_secrets_never_appear_in_the_result(cfg: Path, check: bool) -> None:
    run(cfg)
    (cfg / ".password").write_text("keystore-Passw0rd-1")
    new_api = "admin@example.com\napi-Passw0rd-9876543\n"
    result = run(cfg, check=check, diff=True, files=files(secrets=SECRETS.replace(DB_SECRET, "db-Passw0rd-new-3"), api=new_api), _ansible_verbosity=4)
    assert result["changed"] is True and result["settings"] == [".api", "secrets.toml: Database.URL"]
    text = repr(result)
    assert not any(word in text for word in (*SECRET_WORDS, "db-Passw0rd-new-3", "api-Passw0rd-9876543"))


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run(cfg)

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied", dst)

    monkeypatch.setattr(node_files.os, "replace", refuse)
    result = run(cfg, files=files(config=CONFIG.replace("info", "debug")))
    assert result["failed"] is True
    assert result["msg"] == f"Failed to converge the files of '{cfg}': Writing {cfg / 'config.toml'}: Permission denied"
    assert sorted(p.name for p in cfg.iterdir()) == [".api", "config.toml", "secrets.toml"]
    assert (cfg / "config.toml").read_text() == CONFIG


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"files": {"../x": {"content": "x-content"}}}, "files names files inside path, without a directory part; got '../x'."),
        ({"absent": ["a/b"]}, "absent names files inside path"),
        ({"files": {"a": "text"}}, "files.a must be a dict with content, mode and secret, got str."),
        ({"files": {"a": {"content": "x-content", "owner": 1}}}, "files.a has unknown keys owner (known: content, mode, secret)."),
        ({"files": {"a": {"mode": "0600"}}}, "files.a.content must be the file's text, got NoneType."),
        ({"files": {"a": {"content": "x-content", "mode": "rw-r-----"}}}, "files.a.mode must be an octal string such as '0640', got 'rw-r-----'."),
        ({"files": {"a": {"content": "x-content", "secret": "perhaps"}}}, "files.a.secret: "),
        ({"files": {".password": {"content": "x-content"}}, "absent": [".password"]}, ".password cannot be in both files and absent."),
    ],
)
def test_bad_options_are_named(cfg: Path, given: dict[str, t.Any], message: str) -> None:
    result = run(cfg, **given)
    assert result["failed"] is True and message in result["msg"]
    assert not cfg.exists()


def test_a_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "node-a").write_text("")
    result = run(tmp_path / "node-a")
    assert result["failed"] is True and result["msg"].endswith("exists and is not a directory")


def test_an_unquoted_yaml_mode_arrives_as_the_number_it_means(cfg: Path) -> None:
    unquoted = {"config.toml": {"content": CONFIG, "mode": 0o640, "secret": False}}
    run(cfg, files=unquoted, absent=[])
    assert mode(cfg / "config.toml") == "0640"
