"""Pseudonymous keys for analysts (core/pseudonym.py) and where the job gets its secret."""

import hashlib
import hmac
import os
import stat

import pyarrow.dataset as ds
import pytest

from core import aws
from core.config import Config
from core.pseudonym import KEY_CHARS, PSEUDONYMS, Pseudonymiser, PseudonymKeyError, decode_secret, local_secret
from core.schema.tables import TABLES
from flink_app.io.lake import LakeWriter, to_tuples, with_keys
from flink_app.io.pseudonym_key import pseudonymiser

SECRET = bytes(range(32))
T0 = 1_795_000_000_000


def test_a_key_is_the_hmac_of_the_id_stable_and_secret_dependent():
    keys = Pseudonymiser(SECRET)
    expected = hmac.new(SECRET, b"P-0001-000001", hashlib.sha256).hexdigest()[:KEY_CHARS]
    assert keys.key("P-0001-000001") == expected == Pseudonymiser(SECRET).key("P-0001-000001")
    assert keys.key("P-0001-000002") != expected
    assert Pseudonymiser(bytes(reversed(SECRET))).key("P-0001-000001") != expected
    assert keys.key(None) is None
    assert "P-0001" not in expected and SECRET.hex() not in repr(keys)


def test_a_short_or_missing_secret_is_refused_naming_the_setting():
    with pytest.raises(PseudonymKeyError, match="at least 32"):
        Pseudonymiser(b"short")
    with pytest.raises(PseudonymKeyError, match="lake.pseudonym.secret: .* 5 bytes"):
        decode_secret("hello", "lake.pseudonym.secret")
    assert decode_secret(SECRET.hex(), "x") == SECRET


def test_the_local_key_is_made_once_owner_only_and_kept(tmp_path):
    path = tmp_path / "secrets" / "pseudonym.key"
    first = local_secret(str(path), "lake.pseudonym.key.file")
    assert len(first) == 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert local_secret(str(path), "lake.pseudonym.key.file") == first
    assert os.listdir(path.parent) == ["pseudonym.key"]  # no temporary file left


def test_every_table_with_a_patient_ends_with_its_keys():
    for name, schema in TABLES.items():
        if "patient_id" in schema.names:
            assert schema.names[-2:] == list(PSEUDONYMS), name
        else:
            assert not set(PSEUDONYMS) & set(schema.names), name


def test_the_lake_writes_each_rows_keys_and_keeps_rows_that_have_them(tmp_path):
    keys = Pseudonymiser(SECRET)
    rows = to_tuples("vitals", [{"reading_id": f"R{i}", "patient_id": f"P{i % 2}", "encounter_id": f"E{i % 2}",
                                 "hospital_id": "H01", "ts": T0} for i in range(4)])
    assert len(rows[0]) == len(TABLES["vitals"]) - 2  # what the job buffers: no keys yet
    full = with_keys("vitals", rows[:1], keys)
    assert with_keys("vitals", full, keys) == full  # a row that has its keys keeps them
    LakeWriter(str(tmp_path), keys=keys).write("vitals", rows, "part-1")
    back = ds.dataset(tmp_path / "vitals", partitioning="hive").to_table().to_pylist()
    assert {(r["patient_key"], r["encounter_key"]) for r in back} == {
        (keys.key(f"P{i}"), keys.key(f"E{i}")) for i in range(2)}
    LakeWriter(str(tmp_path / "tool")).write("vitals", rows, "part-1")  # a writer without a key: null keys
    assert {r["patient_key"] for r in ds.dataset(tmp_path / "tool" / "vitals", partitioning="hive").to_table().to_pylist()} == {None}


def test_the_job_reads_its_key_from_secrets_manager(moto_endpoint, tmp_path):
    sm = aws.client("secretsmanager", "us-east-1", moto_endpoint)
    arn = sm.create_secret(Name="wardwatch-test-pseudonym", SecretString=SECRET.hex())["ARN"]

    def cfg(secret):
        return Config({"aws.endpoint.url": moto_endpoint, "aws.region": "us-east-1", "lake.pseudonym.secret": secret})

    assert pseudonymiser(cfg(arn)).key("P1") == Pseudonymiser(SECRET).key("P1")
    with pytest.raises(PseudonymKeyError, match="FATAL: .*lake.pseudonym.secret: cannot read .*ResourceNotFound"):
        pseudonymiser(cfg("wardwatch-test-no-such-secret"))
