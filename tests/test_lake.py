"""The lake writer: Hive partitions, exact rows back, locally and on S3 (moto over HTTP)."""

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import s3_table

from core import aws
from core.canary import CANARY_HOSPITAL
from flink_app.io.lake import LakeWriter, RowsNotWritable, partition_of, split_canary, split_writable, to_tuples

T0 = 1_795_000_000_000  # 2026-11-18T11:06:40Z


def rows():
    return [{"stage": "parse", "reason": f"r{i}", "payload": "{}", "kinesis_shard": "s", "kinesis_seq": str(i),
             "arrival_ts": T0, "processed_ts": T0 + i * 1_800_000} for i in range(3)]


def test_the_canarys_rows_are_split_off_and_tables_without_a_hospital_kept_whole():
    vitals = to_tuples("vitals", [{"reading_id": f"R-{h}", "hospital_id": h, "ts": T0} for h in ("H01", CANARY_HOSPITAL, "H02")])
    curated, canary = split_canary("vitals", vitals)
    assert [r[0] for r in curated] == ["R-H01", "R-H02"] and [r[0] for r in canary] == [f"R-{CANARY_HOSPITAL}"]
    assert split_canary("vitals", curated) == (curated, [])
    dead = to_tuples("dead_letter", rows())
    assert split_canary("dead_letter", dead) == (dead, [])


def test_partition_names():
    assert partition_of(T0) == "dt=2026-11-18/hour=11"


def test_local_lake_partitions_and_rows(tmp_path):
    paths = LakeWriter(str(tmp_path)).write("dead_letter", rows(), "part-1")
    assert [p.split(str(tmp_path))[1] for p in paths] == [
        "/dead_letter/dt=2026-11-18/hour=11/part-1.parquet", "/dead_letter/dt=2026-11-18/hour=12/part-1.parquet"]
    back = ds.dataset(tmp_path / "dead_letter", partitioning="hive").to_table().to_pylist()
    assert sorted(r["reason"] for r in back) == ["r0", "r1", "r2"]
    assert {(r["dt"], r["hour"]) for r in back} == {("2026-11-18", 11), ("2026-11-18", 12)}
    assert not list(tmp_path.rglob(".*.tmp"))


def test_s3_lake_on_moto(moto_endpoint, unique):
    bucket = f"lake-{unique}"
    aws.client("s3", "us-east-1", moto_endpoint).create_bucket(Bucket=bucket)
    writer = LakeWriter(f"s3://{bucket}/curated", "us-east-1", moto_endpoint)
    writer.write("dead_letter", rows(), "part-7")
    keys = sorted(o["Key"] for o in aws.client("s3", "us-east-1", moto_endpoint)
                  .list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["curated/dead_letter/dt=2026-11-18/hour=11/part-7.parquet",
                    "curated/dead_letter/dt=2026-11-18/hour=12/part-7.parquet"]
    back = s3_table(f"s3://{bucket}/curated", "dead_letter", moto_endpoint)
    assert sorted(r["reason"] for r in back) == ["r0", "r1", "r2"]


def test_commit_and_recover_undo_flushes_after_the_checkpoint(tmp_path):
    w = LakeWriter(str(tmp_path))
    batches = [rows()[i:i + 1] for i in range(3)]  # one row each, hours 11, 11, 12
    for n, batch in enumerate(batches, 1):
        w.commit("dead_letter", batch, "lin1", n)
    w.commit("dead_letter", rows(), "other", 1)  # another job's lineage: never touched
    files = sorted(p.name for p in (tmp_path / "dead_letter").rglob("*.parquet"))
    assert len(files) == 3 + 2
    # the restored state saw flush 1 only: flushes 2 and 3 are undone (their rows will be replayed)
    removed = w.recover("dead_letter", "lin1", last_flush=1)
    assert sorted(p.rsplit("/", 1)[1] for p in removed) == ["part-lin1-0000000002.parquet",
                                                             "part-lin1-0000000003.parquet"]
    back = ds.dataset(tmp_path / "dead_letter", partitioning="hive").to_table()
    assert sorted(back.column("reason").to_pylist()) == ["r0", "r0", "r1", "r2"]
    assert sorted(p.name for p in (tmp_path / "_journal" / "dead_letter" / "lin1").iterdir()) == ["0000000001.json"]
    # replaying flush 2 writes the same name again, and a recover with nothing newer removes nothing
    w.commit("dead_letter", batches[1], "lin1", 2)
    assert w.recover("dead_letter", "lin1", last_flush=2) == []


def test_recover_on_s3(moto_endpoint, unique):
    bucket = f"rec-{unique}"
    aws.client("s3", "us-east-1", moto_endpoint).create_bucket(Bucket=bucket)
    w = LakeWriter(f"s3://{bucket}/lake", "us-east-1", moto_endpoint)
    w.commit("dead_letter", rows(), "l", 1)
    w.commit("dead_letter", rows(), "l", 2)
    assert len(w.recover("dead_letter", "l", last_flush=1)) == 2
    # and no "directory" marker objects (pyarrow's S3 filesystem left one where a delete emptied a prefix)
    keys = sorted(o["Key"] for o in aws.client("s3", "us-east-1", moto_endpoint).list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["lake/_journal/dead_letter/l/0000000001.json",
                    "lake/dead_letter/dt=2026-11-18/hour=11/part-l-0000000001.parquet",
                    "lake/dead_letter/dt=2026-11-18/hour=12/part-l-0000000001.parquet"]


def test_tuple_and_dict_rows_write_the_same_file(tmp_path):
    """The sink writes column-ordered tuples; dict rows (other callers, a buffer restored from an
    older checkpoint) may come mixed in and must give the same rows."""
    data = rows()
    w = LakeWriter(str(tmp_path))
    w.write("dead_letter", to_tuples("dead_letter", data), "as-tuples")
    w.write("dead_letter", [*to_tuples("dead_letter", data[:1]), *data[1:]], "mixed")
    def read(stem):
        files = sorted((tmp_path / "dead_letter").rglob(f"{stem}.parquet"))
        return [row for f in files for row in pq.read_table(f).to_pylist()]
    assert read("as-tuples") == read("mixed") and len(read("mixed")) == len(data)


def test_a_row_the_table_cannot_hold_is_refused_before_anything_is_written_then_split_off(tmp_path):
    """Issue 12: a bool in an int column ("Expected integer, got bool") or a time with no partition
    failed in the sink inside checkpointed state, so every restore failed again."""
    bad = [*rows(), {**rows()[0], "reason": "bad time", "processed_ts": 10**19},
           {**rows()[0], "reason": "bad type", "arrival_ts": "yesterday"}]
    writer = LakeWriter(str(tmp_path))
    with pytest.raises(RowsNotWritable):
        writer.commit("dead_letter", bad, "L1", 1)
    assert not list(tmp_path.rglob("*.parquet")) and not list(tmp_path.rglob("*.json"))
    good, refused = split_writable("dead_letter", bad)
    assert [r[1] for r in good] == ["r0", "r1", "r2"]
    assert [r[1] for r, _ in refused] == ["bad time", "bad type"]
    assert [reason.partition(":")[0] for _, reason in refused] == [
        "dead_letter row not writable (column processed_ts)", "dead_letter row not writable (column arrival_ts)"]


def test_a_journal_entry_cut_short_by_a_full_disk_does_not_block_every_restore(tmp_path):
    """With the filesystem full, a 0-byte journal entry made every later restore fail on
    json.loads, and the job never came back. Entries are now renamed into place (whole or
    absent), and an unreadable one from before is skipped: its flush wrote no files."""
    writer = LakeWriter(str(tmp_path))
    writer.commit("dead_letter", rows(), "l", 1)
    journal = tmp_path / "_journal" / "dead_letter" / "l"
    assert sorted(p.name for p in journal.iterdir()) == ["0000000001.json"]  # no temporary left behind
    (journal / "0000000002.json").write_bytes(b"")  # what ENOSPC left
    (journal / "0000000003.json").write_bytes(b'{"flush": 3, "fi')
    assert writer.recover("dead_letter", "l", last_flush=1) == []
    assert sorted(p.name for p in journal.iterdir()) == ["0000000001.json"]
    assert len(ds.dataset(tmp_path / "dead_letter", partitioning="hive").to_table()) == 3  # flush 1 kept
