"""Lineage and restore resolution (which checkpoint, which lake lineage) without Flink."""

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
