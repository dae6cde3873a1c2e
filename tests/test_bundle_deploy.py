"""`make bundle` builds a zip MSF can run; `make deploy` without credentials stops with a clear message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.bundle import MSF_PYTHON, BundleError, build, check, pinned

ROOT = Path(__file__).resolve().parent.parent


def test_bundle_holds_the_job_and_its_dependencies_for_msf(tmp_path):
    # Real pip download of manylinux wheels for Python 3.12 (PyPI is reachable here and in CI).
    summary = build(tmp_path / "wardwatch-msf.zip")
    with zipfile.ZipFile(summary["path"]) as z:
        names = set(z.namelist())
    assert {"main.py", "flink_app/__init__.py", "flink_app/job.py", "core/config.py", "dep/boto3/__init__.py"} <= names
    assert not any(n.startswith("alerts/") for n in names)  # the delivery service runs elsewhere
    assert any(n.startswith("dep/orjson/orjson.cpython-312-x86_64-linux-gnu") for n in names)
    assert not any(n.startswith(("dep/pyflink/", "dep/pyarrow/", "producer/", "tests/")) or "__pycache__" in n
                   for n in names)
    assert 1024**2 < summary["bytes"] < 100 * 1024**2


def test_bundle_check_rejects_a_broken_zip(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("flink_app/__init__.py", "")
        z.writestr("dep/pyflink/__init__.py", "")
    with pytest.raises(BundleError, match="missing main.py.*not built for CPython") as err:
        check(bad)
    assert "must not contain" in str(err.value)


def test_dependency_pins_come_from_requirements():
    pins = dict(p.split("==") for p in pinned())
    req = (ROOT / "requirements.txt").read_text()
    assert all(f"{name}=={version}" in req for name, version in pins.items())
    assert MSF_PYTHON == "3.12"


def run_make(target: str, **env) -> subprocess.CompletedProcess:
    no_credentials = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    no_credentials.update(AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent",
                          AWS_EC2_METADATA_DISABLED="true", **env)
    return subprocess.run([sys.executable, "-m", "infra.deploy", *target.split()], cwd=ROOT, env=no_credentials,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("action", ["deploy", "destroy"])
def test_deploy_without_credentials_says_what_to_set(action):
    result = run_make(f"{action} --env dev", PYTHONPATH=str(ROOT))
    assert result.returncode == 2
    assert "no AWS credentials found" in result.stderr and "AWS_PROFILE" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_unknown_environment_is_named():
    result = run_make("synth --env staging", PYTHONPATH=str(ROOT))
    assert result.returncode == 2 and "env='staging'" in result.stderr


def test_make_synth_honours_context(tmp_path):
    """`make synth ENV=prod CONTEXT="..."` (the README's form) reaches the template; a bad key is named."""
    result = subprocess.run(["make", "--no-print-directory", "-s", "synth", "ENV=prod",
                             "CONTEXT=stream_mode=PROVISIONED shard_count=5 job_lineage=7 canary_minutes=10"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    template = json.loads((ROOT / "cdk.out" / "wardwatch-prod.template.json").read_text())
    [stream] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Kinesis::Stream"
                and r["Properties"].get("Name") == "wardwatch-prod-vitals"]
    assert stream["Properties"]["ShardCount"] == 5
    assert "prod-7" in json.dumps(template)  # job.lineage = <env>-<job_lineage>
    assert "rate(10 minutes)" in json.dumps(template)  # the canary's schedule
    slow = run_make("synth --env dev --context canary_minutes=120", PYTHONPATH=str(ROOT))
    assert slow.returncode == 2 and "canary_minutes=120: 5 to 60" in slow.stderr
    bad = run_make("synth --env dev --context shards=4", PYTHONPATH=str(ROOT))
    assert bad.returncode == 2 and "CONTEXT key 'shards'" in bad.stderr and "shard_count" in bad.stderr
    worse = run_make("synth --env dev --context shard_count=four", PYTHONPATH=str(ROOT))
    assert worse.returncode == 2 and "shard_count='four'" in worse.stderr


def test_deploy_passes_each_context_override_to_the_cdk_cli():
    from infra.deploy import cdk_command

    cmd = cdk_command("deploy", "prod", {"job_lineage": "2", "shard_count": "4"})
    assert cmd[cmd.index("deploy") + 1] == "wardwatch-prod"
    pairs = [cmd[i + 1] for i, c in enumerate(cmd) if c == "-c"]
    assert pairs == ["env=prod", "job_lineage=2", "shard_count=4"]
