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
    ({"job.parallelism": "0"}, "setting job.parallelism must be 1 to 1,024, got 0"),
    ({"detection.replay": "true", "alerts.stream.name": "wardwatch-alerts"},
     "setting detection.replay=true needs alerts.stream.name empty .got 'wardwatch-alerts'.: a replayed day must page"),
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


def test_job_cli_reports_a_checkpoint_it_will_not_restore_without_a_traceback(tmp_path, capsys):
    """Found using the restore runbook: the refusal came out as a Python traceback, not a message."""
    from flink_app.__main__ import main

    chk = tmp_path / "lin-a" / "job" / "chk-1"
    chk.mkdir(parents=True)
    (chk / "_metadata").write_bytes(b"x")
    tmp_path.chmod(0o775)
    assert main(["--set", f"job.checkpoint.dir={tmp_path}", "--set", "job.restore.from=latest"]) == 2
    err = capsys.readouterr().err
    assert "configuration error: setting job.restore.from: will not restore" in err and "Traceback" not in err


# ---- settings validated by meaning: ranges, orderings, per-unit overrides -------------------

@pytest.mark.parametrize(("overrides", "message"), [
    ({"detection.persistence.ms": "-5"}, "setting detection.persistence.ms must be 0 to 3,600,000, got -5"),
    ({"detection.spo2.low": "150"}, "setting detection.spo2.low must be 70 to 100, got 150"),  # every patient would page
    ({"detection.heart_rate.high": "20"}, "setting detection.heart_rate.high must be 60 to 250"),
    ({"enrich.carry_forward.max_age.ms": "-1"}, "setting enrich.carry_forward.max_age.ms must be 0 to 86,400,000"),
    ({"windows.idle.close.ms": "-3"}, "setting windows.idle.close.ms must be 1,000 to 3,600,000"),
    ({"detection.spo2.critical.low": "95"}, "detection.spo2.critical.low (95.0) must be below detection.spo2.low (92)"),
    ({"detection.heart_rate.critical.high": "130"},
     "detection.heart_rate.high (131) must be below detection.heart_rate.critical.high (130.0)"),
    ({"detection.news2.urgent": "9"}, "detection.news2.urgent (9.0) must be below detection.news2.emergency (7)"),
    ({"detection.persistence.ms": "70000"},
     "detection.persistence.ms (70000) must be at most 1/2 of detection.persistence.window.ms (120000)"),
    ({"detection.unit.overrides": "ICU:news2.urgent=-7"},
     "setting detection.news2.urgent for unit ICU (detection.unit.overrides) must be 1 to 20, got -7"),
    ({"detection.unit.overrides": "Ward-A:spo2.critical.low=93"},
     "detection.spo2.critical.low for unit Ward-A (detection.unit.overrides) (93.0) must be below detection.spo2.low"),
    ({"detection.unit.overrides": "ICU:news2.emergency=6"},  # below the ICU default urgent of 7
     "detection.news2.urgent for unit ICU (detection.unit.overrides) (7.0) must be below detection.news2.emergency (6.0)"),
])
def test_settings_that_cannot_be_meant_stop_the_job_naming_the_setting_and_the_range(overrides, message):
    with pytest.raises(ConfigError) as exc:
        Config(overrides)
    assert message in str(exc.value)


def test_every_numeric_setting_has_a_documented_range():
    from core.config import RANGES, SETTINGS, settings_markdown

    numeric = {s.name for s in SETTINGS if s.type in (int, float)}
    assert numeric == set(RANGES)
    table = settings_markdown()
    assert "| `detection.spo2.low` | `92` | 70 to 100 |" in table
    Config()  # the defaults, and the shipped unit defaults, are inside every range
