"""Lineage and restore resolution (which checkpoint, which lake lineage) without Flink."""

import os

import pytest

from core.config import Config, ConfigError
from flink_app.lineage import latest_checkpoint, resolve


def make_chk(root, lineage, job, n):
    d = root / lineage / job / f"chk-{n}"
    d.mkdir(parents=True)
    (d / "_metadata").write_bytes(b"x")
    return d


def test_fresh_start_gets_a_new_lineage(tmp_path):
    a = resolve(Config({"job.checkpoint.dir": str(tmp_path)}))
    b = resolve(Config({"job.checkpoint.dir": str(tmp_path)}))
    assert a["job.lineage"] and a["job.lineage"] != b["job.lineage"] and a["job.restore.from"] == ""


def test_restore_latest_keeps_the_checkpoints_lineage(tmp_path):
    import os
    import time

    old = make_chk(tmp_path, "lin-a", "job1", 3)
    new = make_chk(tmp_path, "lin-b", "job2", 7)
    os.utime(old / "_metadata", (time.time() - 100, time.time() - 100))
    assert latest_checkpoint(tmp_path) == str(new)
    cfg = resolve(Config({"job.checkpoint.dir": str(tmp_path), "job.restore.from": "latest"}))
    assert (cfg["job.lineage"], cfg["job.restore.from"]) == ("lin-b", str(new))


def test_latest_with_no_checkpoint_starts_fresh(tmp_path):
    cfg = resolve(Config({"job.checkpoint.dir": str(tmp_path), "job.restore.from": "latest"}))
    assert cfg["job.restore.from"] == "" and cfg["job.lineage"]


def test_restore_from_elsewhere_needs_a_lineage(tmp_path):
    elsewhere = make_chk(tmp_path / "other", "x", "j", 1)
    with pytest.raises(ConfigError, match="setting job.lineage is needed"):
        resolve(Config({"job.checkpoint.dir": str(tmp_path / "mine"), "job.restore.from": str(elsewhere)}))
    cfg = resolve(Config({"job.checkpoint.dir": str(tmp_path / "mine"), "job.restore.from": str(elsewhere),
                          "job.lineage": "prod-1"}))
    assert cfg["job.lineage"] == "prod-1"
    with pytest.raises(ConfigError, match="job.lineage"):
        resolve(Config({"job.checkpoint.dir": str(tmp_path), "job.lineage": "a/b"}))


@pytest.mark.parametrize("target", ["_metadata", "chk", "lineage", "shared state"])
def test_a_checkpoint_someone_else_could_write_is_not_restored(tmp_path, target):
    """Issue 16: checkpoints are pickles, and restoring one runs it; the job restored any folder it
    was pointed at. One that another user could have written now stops the job, naming the setting."""
    chk = make_chk(tmp_path, "lin-a", "job1", 3)
    shared = chk.parent / "shared"
    shared.mkdir()
    (shared / "state-1").write_bytes(b"x")
    path = {"_metadata": chk / "_metadata", "chk": chk, "lineage": tmp_path / "lin-a",
            "shared state": shared / "state-1"}[target]
    settings = {"job.checkpoint.dir": str(tmp_path), "job.restore.from": str(chk)}
    assert resolve(Config(settings))["job.restore.from"] == str(chk)  # the job's own: restored
    path.chmod(path.stat().st_mode | 0o002)
    with pytest.raises(ConfigError, match=rf"setting job.restore.from: will not restore .*{path.name} is writable by others"):
        resolve(Config(settings))
    path.chmod(path.stat().st_mode & ~0o002 | 0o020)
    with pytest.raises(ConfigError, match="is writable by its group"):
        resolve(Config({**settings, "job.restore.from": "latest"}))


def test_a_checkpoint_of_another_user_is_not_restored(tmp_path, monkeypatch):
    chk = make_chk(tmp_path, "lin-a", "job1", 3)
    monkeypatch.setattr("os.getuid", lambda: os.stat(chk).st_uid + 1)  # the files' owner is someone else
    with pytest.raises(ConfigError, match=r"belongs to user id \d+, not the job's"):
        resolve(Config({"job.checkpoint.dir": str(tmp_path), "job.restore.from": str(chk)}))


def test_a_restore_path_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(ConfigError, match="setting job.restore.from: .*nope does not exist"):
        resolve(Config({"job.checkpoint.dir": str(tmp_path), "job.restore.from": str(tmp_path / "nope"), "job.lineage": "a"}))
