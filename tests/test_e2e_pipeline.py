"""End to end: moto server, Kinesis, the real PyFlink job (thread mode), the alerts stream, the
real delivery service (KCL MultiLangDaemon, ``python -m alerts``), SNS -> SQS pager, Parquet.

Run twice: on the embedded mini-cluster (one JVM, as ``make run``) and on a local session
cluster of two TaskManager JVMs with parallelism 2 (``job.taskmanagers=2``, as the benchmark
runs it); both must give exactly the same lake, pages and dead letters.

A known set of records goes in: normal readings (three of them in one KPL-aggregated record),
one that must alert at once (SpO2 below the critical limit), a malformed JSON record, a
damaged aggregated record and a reading with an impossible heart rate. The
test then asserts the exact rows in the lake, the exact page on the SQS pager, and the three
dead-lettered records with their reasons.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from conftest import DeliveryService

from core import aws
from core.kpl import aggregate
from core.pseudonym import Pseudonymiser, local_secret
from core.schema.events import clock_text
from flink_app.io.lake import partition_of
from infra.local.stack import create_resources, receive_pages
from producer.canary import READINGS, canary_records

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def reading(i: int, ts: int, patient: str, bed: str, **vitals) -> dict:
    return {"schema_version": 1, "type": "vitals", "reading_id": f"R-{i:03d}", "patient_id": patient,
            "encounter_id": f"E-{patient}", "hospital_id": "H01", "unit": "ICU", "bed": bed,
            "device_id": f"monitor-{bed}", "ts": ts, **vitals}


def read_table(lake: Path, table: str) -> list[dict]:
    path = lake / table
    if not path.exists():
        return []
    return ds.dataset(path, format="parquet", partitioning="hive").to_table().to_pylist()


def listening(session: int) -> list[str]:
    """host:port of every TCP socket listening in the process session ``session`` (the job and the
    cluster JVMs it starts), read from /proc: the standard says nothing listens beyond 127.0.0.1."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # field 6 of /proc/pid/stat: the session id
            pids.append(stat.parent)
    inodes = set()
    for proc in pids:
        for fd in proc.glob("fd/*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    out = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] != "0A" or cols[9] not in inodes:  # 0A: LISTEN
                continue
            host, port = cols[1].split(":")
            raw = bytes.fromhex(host)
            if width == 8:
                addr = ".".join(str(b) for b in raw[::-1])
            else:  # IPv6 in /proc: four little-endian 32-bit words
                words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
                addr = b"".join(words).hex()
                addr = {"0" * 32: "::", "0" * 31 + "1": "::1"}.get(addr, addr)
                if addr.startswith("0" * 20 + "ffff"):
                    addr = ".".join(str(int(addr[i:i + 2], 16)) for i in range(24, 32, 2))
            out.append(f"{addr}:{int(port, 16)}")
    return sorted(out)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("taskmanagers", [1, 2], ids=["mini-cluster", "two-taskmanagers"])
def test_pipeline_end_to_end(moto_endpoint, unique, tmp_path, taskmanagers):
    res = create_resources(moto_endpoint, stream_name=f"vitals-{unique}", topic_name=f"alerts-{unique}",
                           queue_name=f"pager-{unique}")
    base = (int(time.time()) // 60 - 4) * 60_000  # minutes ago (within detection.delayed.after.ms), on a minute boundary
    full = dict(heart_rate=72, respiratory_rate=16, spo2=97, on_oxygen=False, systolic_bp=122, diastolic_bp=78,
                temperature_c=36.9, consciousness="A")
    records = [reading(i, base + i * 5000, "P-1", "ICU-01", **full) for i in range(1, 6)]
    records += [reading(i, base + (i - 5) * 5000, "P-2", "ICU-02", heart_rate=88, spo2=96, respiratory_rate=18)
                for i in range(6, 9)]
    # Critical: SpO2 82% is below the critical limit (85%): it alerts with no persistence delay.
    records.append(reading(9, base + 20_000, "P-3", "ICU-03", heart_rate=118, spo2=82, respiratory_rate=26))
    # Critical needs confirming: 3 critical readings spanning 20 s (one alone could be an artefact).
    records.append(reading(14, base + 30_000, "P-3", "ICU-03", heart_rate=118, spo2=82, respiratory_rate=26))
    records.append(reading(13, base + 40_000, "P-3", "ICU-03", heart_rate=118, spo2=82, respiratory_rate=26))
    payloads = [json.dumps(r).encode() for r in records if r["patient_id"] != "P-2"]
    # P-2's three readings arrive as one KPL-aggregated Kinesis record; a damaged aggregate is dead-lettered.
    payloads.append(aggregate([("P-2", json.dumps(r).encode()) for r in records if r["patient_id"] == "P-2"]))
    damaged = aggregate([("P-5", json.dumps(reading(12, base, "P-5", "ICU-05", heart_rate=70)).encode())])[:-1]
    payloads.append(damaged)
    truncated = b'{"schema_version": 1, "type": "vitals", "reading_id": "R-broken"'
    payloads.append(truncated)
    payloads.append(json.dumps(reading(11, base, "P-4", "ICU-04", heart_rate=900)).encode())
    # Issue 12: seven records that each put the job into a restart loop. Now: three refused whole,
    # four kept with the bad field removed (and a field-level dead letter each).
    def ward(i, **fields):
        return {**reading(i, base, f"P-{i}", f"W-{i}", heart_rate=80), "hospital_id": "H02", "unit": "Ward-T", **fields}

    def encounter(i, **fields):
        return {"schema_version": 1, "type": "encounter", "event_id": f"EV-{i}", "event": "admission",
                "patient_id": f"P-{i}", "encounter_id": f"E-{i}", "hospital_id": "H02", "unit": "Ward-T",
                "bed": f"W-{i}", "ts": base, **fields}
    poison = [ward(20, spo2_scale=True), ward(21, ts=1e18), ward(22, ts=1e300), ward(23, ts="0001-01-01T00:00:00+01:00"),
              ward(24, spo2={"value": 80, "unit": []}), encounter(25, arrival_ts=1e19), encounter(26, arrival_ts_ms="abc")]
    payloads += [json.dumps(r).encode() for r in poison]
    kinesis = aws.client("kinesis", res.region, res.endpoint)
    resp = kinesis.put_records(StreamName=res.stream_name,
                               Records=[{"Data": p, "PartitionKey": f"k{i % 4}"} for i, p in enumerate(payloads)])
    assert resp["FailedRecordCount"] == 0

    lake, canary_lake = tmp_path / "lake", tmp_path / "canary"
    config = tmp_path / "config.json"
    config.write_text(json.dumps([
        {"PropertyGroupId": "aws", "PropertyMap": {"endpoint.url": res.endpoint, "region": res.region}},
        {"PropertyGroupId": "source", "PropertyMap": {"stream.name": res.stream_name}},
        {"PropertyGroupId": "alerts", "PropertyMap": {"stream.name": res.alerts_stream}},
        {"PropertyGroupId": "lake", "PropertyMap": {"path": str(lake), "flush.interval.ms": "500",
                                                     "pseudonym.key.file": str(tmp_path / "pseudonym.key")}},
        {"PropertyGroupId": "windows", "PropertyMap": {"idle.close.ms": "2000"}},
        {"PropertyGroupId": "job", "PropertyMap": {"checkpoint.dir": str(tmp_path / "chk"),
                                                    "checkpoint.interval.ms": "2000",
                                                    "taskmanagers": str(taskmanagers),
                                                    "cluster.dir": str(tmp_path / "cluster")}},
    ]))
    delivery = DeliveryService(res, tmp_path, **{"delivery.hospital.names": json.dumps({"H01": "Northgate General"})})
    delivery.start()
    log = tmp_path / "job.log"
    with open(log, "wb") as out:
        job = subprocess.Popen([sys.executable, "-m", "flink_app", "--config", str(config)], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    sqs = aws.client("sqs", res.region, res.endpoint)
    pages: list[dict] = []
    canary_pages: list[dict] = []
    canary_sent = False
    try:
        deadline = time.monotonic() + 360
        while time.monotonic() < deadline:
            assert job.poll() is None, f"job exited early:\n{log.read_text()[-3000:]}"
            pages += receive_pages(sqs, res.queue_url, wait_s=1)
            canary_pages += receive_pages(sqs, res.canary_queue_url, wait_s=0)
            vitals_in = len(read_table(lake, "vitals"))
            icu_load = any(u["unit"] == "ICU" for u in read_table(lake, "unit_load_5m"))
            if vitals_in >= 13 and icu_load and not canary_sent:  # ICU's 11 and Ward-T's 2, and ICU's unit row
                # Issue 16: the end-to-end canary's run (what its Lambda sends every few minutes on AWS)
                # must page the canary queue, and only it: the pager (a clinician) never sees a canary
                # page. It is sent once the readings of minutes ago are in and aggregated, as on AWS,
                # where it arrives in real time. Sent earlier, its readings of now move the watermark
                # past ICU's unit window while ICU's minute rows (closed by processing-time deadline,
                # not by the watermark) are still on their way, and they count as late (CI, twice).
                canary = canary_records(int(time.time() * 1000))
                resp = kinesis.put_records(StreamName=res.stream_name,
                                           Records=[{"Data": d, "PartitionKey": k} for k, d in canary])
                assert resp["FailedRecordCount"] == 0
                canary_sent = True
            done = canary_pages and (vitals_in >= 13 and len(read_table(canary_lake, "vitals")) >= READINGS
                    and len(read_table(lake, "dead_letter")) >= 10
                    and len(read_table(lake, "encounters")) >= 2 and len(read_table(lake, "alerts")) >= 1 and pages
                    and icu_load)
            if done:
                break
        # Issue 13: the job, its Flink JVMs and PyFlink's servers listen on loopback only.
        ports = listening(job.pid) + listening(delivery.proc.pid)
        assert ports and all(p.startswith(("127.0.0.1:", "::1:")) for p in ports), ports
        time.sleep(3)  # anything extra (a duplicate, a second alert) would show up now
        pages += receive_pages(sqs, res.queue_url, wait_s=1)
        canary_pages += receive_pages(sqs, res.canary_queue_url, wait_s=1)
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        job.wait(60)
        delivery.stop()
    # The session cluster's JVMs (their PIDs in the files flink-console.sh writes) end with the job.
    cluster_pids = [int(line) for f in (tmp_path / "cluster").glob("*/*.pid") for line in f.read_text().split()]
    assert len(cluster_pids) == (0 if taskmanagers == 1 else 3)
    deadline = time.monotonic() + 30
    while any(alive(p) for p in cluster_pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(alive(p) for p in cluster_pids)

    every = sorted(read_table(lake, "vitals"), key=lambda r: r["reading_id"])
    kept = {r["reading_id"]: r["rejected_fields"] for r in every if r["unit"] == "Ward-T"}
    assert kept == {"R-020": ["spo2_scale: impossible value: spo2_scale=True, expected one of 1/2"],
                    "R-024": ["spo2: wrong type: spo2.unit must be a string, got list"]}
    vitals = [r for r in every if r["unit"] == "ICU"]
    assert [r["reading_id"] for r in vitals] == [f"R-{i:03d}" for i in range(1, 10)] + ["R-013", "R-014"]
    p1 = vitals[0]
    assert (p1["patient_id"], p1["unit"], p1["bed"], p1["heart_rate"], p1["spo2"]) == ("P-1", "ICU", "ICU-01", 72, 97)
    assert p1["news2_total"] == 0 and p1["news2_band"] == "low" and p1["news2_missing"] == []
    assert p1["bp_category"] == "elevated" and p1["flags"] == [] and p1["mews_total"] == 1
    assert p1["dt"] == partition_of(base).split("/")[0][3:]
    p2 = vitals[5]
    seqs = [r["kinesis_seq"] for r in vitals[5:8]]  # one Kinesis record, three readings in it
    assert [q.rsplit(":", 1)[1] for q in seqs] == ["0", "1", "2"] and len({q.rsplit(":", 1)[0] for q in seqs}) == 1
    assert p2["news2_total"] is None and p2["news2_partial"] == 0 and p2["flags"] == []
    assert set(p2["news2_missing"]) == {"on_oxygen", "systolic_bp", "consciousness", "temperature_c"}
    p3 = vitals[8]
    # SpO2 82 (3) + HR 118 (2) + RR 26 (3) = 8 partial; qSOFA RR >= 22 only.
    assert (p3["news2_partial"], p3["news2_red_score"], p3["qsofa"]) == (8, True, 1)
    assert p3["flags"] == ["hr_high", "spo2_low", "spo2_low_oxygen"]

    assert len(pages) == 1, pages
    page = pages[0]
    assert page["attributes"] == {"severity": "critical", "rule": "spo2_low", "status": "open", "hospital": "H01",
                                  "unit": "ICU", "tier": "primary", "page_id": page["alert"]["page_id"]}
    # Told against when the job raised it: with the reading's day once midnight (UTC) has passed
    # since (a run at 00:0x paged "since 3 Dec 23:59Z", rightly).
    start = base + 20_000
    told = {clock_text(start, start), clock_text(start, int(time.time() * 1000))}
    assert page["alert"]["text"] in {
        f"CRITICAL Northgate General (H01), ICU, bed ICU-03: SpO2 82% (limit <85) since {since}" for since in told}
    # The Subject is what SNS puts on e-mail, which leaves AWS in clear: no bed, no values.
    assert page["subject"] == "CRITICAL page, Northgate General (H01), ICU" and page["alert"]["hospital"] == "Northgate General (H01)"
    assert page["alert"]["bed"] == "ICU-03" and "patient_id" not in page["alert"]

    [canary_page] = canary_pages
    assert canary_page["attributes"]["hospital"] == "CANARY" and canary_page["attributes"]["severity"] == "critical"
    assert canary_page["alert"]["text"].startswith("CRITICAL hospital CANARY, CANARY, bed CANARY-1: SpO2 82% (limit <85)")
    # The canary's rows are kept apart from the curated lake: no report or board counts a synthetic patient.
    for table in ("vitals", "encounters", "alerts", "vitals_1m", "unit_load_5m"):
        assert not [r for r in read_table(lake, table) if r["hospital_id"] == "CANARY"], table
    assert sorted(a["status"] for a in read_table(canary_lake, "alerts")) == [
        "all-clear", "open"]  # discharged: the episode ends, nothing escalates
    assert {v["hospital_id"] for v in read_table(canary_lake, "vitals")} == {"CANARY"}
    assert len(read_table(canary_lake, "vitals")) == READINGS and len(read_table(canary_lake, "encounters")) == 2
    # Every row an analyst may see carries the patient's and encounter's pseudonymous keys, computed
    # under the key the job made on first run (core/pseudonym.py), the same in every table.
    keys = Pseudonymiser(local_secret(str(tmp_path / "pseudonym.key"), "lake.pseudonym.key.file"))
    for table in ("vitals", "encounters", "alerts", "vitals_1m"):
        rows = read_table(lake, table)
        assert rows and all(r["patient_key"] == keys.key(r["patient_id"]) and r["encounter_key"] == keys.key(r["encounter_id"])
                            for r in rows), table
    alerts = read_table(lake, "alerts")
    assert len(alerts) == 1
    assert alerts[0]["alert_id"] == page["alert"]["alert_id"] and alerts[0]["streamed"] is True
    assert alerts[0]["patient_id"] == "P-3"

    every_dead = read_table(lake, "dead_letter")
    assert sorted(d["reason"] for d in every_dead if d["stage"] == "validate") == [
        "fields removed: arrival_ts_ms: impossible value: arrival_ts_ms=1e+19 is outside 2024-01-01..2100-01-01",
        "fields removed: arrival_ts_ms: unparsable timestamp: arrival_ts_ms='abc'",
        "fields removed: spo2: wrong type: spo2.unit must be a string, got list",
        "fields removed: spo2_scale: impossible value: spo2_scale=True, expected one of 1/2",
    ]
    assert sorted(d["reason"] for d in every_dead if '"Ward-T"' in d["payload"] and d["stage"] == "parse") == [
        "impossible value: ts='0001-01-01T00:00:00+01:00' is outside 2024-01-01..2100-01-01",
        "impossible value: ts=1e+18 is outside 2024-01-01..2100-01-01",
        "impossible value: ts=1e+300 is outside 2024-01-01..2100-01-01",
    ]
    dead = sorted((d for d in every_dead if d["stage"] != "validate" and '"Ward-T"' not in d["payload"]),
                  key=lambda r: r["reason"])
    assert [d["reason"] for d in dead] == [
        "KPL aggregated record: MD5 digest does not match (truncated or corrupt)",
        "not JSON: unexpected end of data: line 1 column 65 (char 64)",
        "nothing usable: heart_rate: impossible value: heart_rate=900 outside 0..350 /min",
    ]
    # The lake keeps a scrubbed payload; the quarantine beside it the record unchanged, for replay.
    raw = {r["raw_id"]: r for r in read_table(lake.parent / "quarantine", "dead_letter_raw")}
    assert {d["raw_id"] for d in every_dead} <= set(raw)
    assert raw[dead[1]["raw_id"]]["payload"] == truncated.decode() and dead[1]["stage"] == "parse"
    assert raw[dead[0]["raw_id"]]["payload"] == "base64:" + base64.b64encode(damaged).decode()  # kept whole
    assert dead[0]["payload"] == f"binary record of {len(damaged)} bytes (in the quarantine)"
    assert sorted(e["patient_id"] for e in read_table(lake, "encounters")) == [
        "P-25", "P-26"]

    minutes = {m["patient_id"]: m for m in read_table(lake, "vitals_1m") if m["unit"] == "ICU"}
    assert sorted(minutes) == ["P-1", "P-2", "P-3"]
    m1 = minutes["P-1"]
    assert (m1["readings"], m1["heart_rate_mean"], m1["spo2_min"], m1["news2_max"], m1["news2_band_worst"]) == (
        5, 72, 97, 0, "low")
    assert m1["window_start"].timestamp() * 1000 == base and m1["late_readings"] == 0
    assert (minutes["P-3"]["alerts"], minutes["P-3"]["critical_alerts"], minutes["P-3"]["flags"]) == (
        1, 1, ["hr_high", "spo2_low", "spo2_low_oxygen"])
    [load] = [u for u in read_table(lake, "unit_load_5m") if u["unit"] == "ICU"]
    assert (load["hospital_id"], load["unit"], load["patients"], load["critical_patients"], load["readings"],
            load["alerts"]) == ("H01", "ICU", 3, 1, 11, 1)
    assert not any(r["late"] for r in vitals)
