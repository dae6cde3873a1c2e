"""The configuration model: MSF property groups, local file, flags, and fail-fast errors naming the setting."""

import json

import pytest

from core import config
from core.config import SETTINGS, Config, ConfigError, load


def test_defaults_and_roundtrip_through_property_groups():
    cfg = Config()
    assert cfg["source.initial.position"] == "TRIM_HORIZON" and cfg["detection.persistence.ms"] == 20000
    again = Config(config.overrides_from_property_groups(cfg.to_property_groups()))
    assert again.as_dict() == cfg.as_dict()


def test_file_then_flags(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MSF_PROPERTIES_PATH", tmp_path / "absent.json")
    f = tmp_path / "c.json"
    f.write_text(json.dumps([{"PropertyGroupId": "source", "PropertyMap": {"stream.name": "s1", "poll.interval.ms": "500"}}]))
    cfg = load(["--config", str(f), "--set", "source.stream.name=s2"])
    assert cfg["source.stream.name"] == "s2" and cfg["source.poll.interval.ms"] == 500


def test_msf_properties_file_wins(tmp_path, monkeypatch):
    msf = tmp_path / "application_properties.json"
    msf.write_text(json.dumps([{"PropertyGroupId": "lake", "PropertyMap": {"path": "s3://bucket/lake"}}]))
    monkeypatch.setattr(config, "MSF_PROPERTIES_PATH", msf)
    assert load([])["lake.path"] == "s3://bucket/lake"


@pytest.mark.parametrize("overrides,message", [
    ({"source.nope": "1"}, "unknown setting 'source.nope'"),
    ({"job.parallelism": "two"}, "setting job.parallelism: 'two' is not a valid int"),
    ({"source.initial.position": "EARLIEST"}, "setting source.initial.position: 'EARLIEST' is not one of"),
    ({"source.initial.position": "AT_TIMESTAMP"}, "setting source.initial.timestamp is required"),
    ({"source.poll.interval.ms": "100"}, "setting source.poll.interval.ms must be >= 200"),
    ({"job.parallelism": "0"}, "setting job.parallelism must be positive"),
])
def test_bad_values_fail_fast_naming_the_setting(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        Config(overrides)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        config.load_property_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        config.load_property_file(bad)
    bad.write_text(json.dumps({"a": 1}))
    with pytest.raises(ConfigError, match="must hold a list"):
        config.load_property_file(bad)


def test_every_setting_is_documented():
    table = config.settings_markdown()
    for s in SETTINGS:
        assert f"`{s.name}`" in table and s.doc


def test_job_cli_reports_config_error_without_starting_flink(capsys):
    from flink_app.__main__ import main

    assert main(["--set", "job.parallelism=zero"]) == 2
    assert "configuration error: setting job.parallelism" in capsys.readouterr().err
