"""``make run``'s guard against writing the same patients into a day twice (reports would double-count)."""

from __future__ import annotations

import time

from flink_app.io.lake import LakeWriter
from infra.local.run import warn_overlap


def test_a_run_that_would_write_the_same_patients_into_the_same_day_says_so(tmp_path, capsys):
    lake = tmp_path / "lake"
    warn_overlap(lake, 7, 60, 60)  # no lake yet: nothing to say
    now = int(time.time() * 1000)
    LakeWriter(str(lake)).write("vitals", [{"reading_id": "r1", "patient_id": "P-0007-000001", "hospital_id": "H01",
                                            "ts": now, "processed_ts": now}], "earlier-run")
    warn_overlap(lake, 8, 60, 60)  # another seed: other patients
    assert capsys.readouterr().err == ""
    warn_overlap(lake, 7, 60, 60)
    err = capsys.readouterr().err
    assert "already holds 1 of this run's patients (SEED=7)" in err and "FRESH=1" in err


def test_the_status_line_tells_late_readings_and_how_far_behind_the_job_is(tmp_path):
    """Issue 16: ``make run``'s status line every few seconds says records in, lag, dead-lettered,
    late, alerts and held pages (it said neither lag nor late)."""
    from infra.local.run import LakeCounter, status_line

    lake, now = tmp_path / "lake", int(time.time() * 1000)
    counter = LakeCounter(lake, set())
    status = tmp_path / "status.json"  # no delivery status yet
    line = status_line(tmp_path / "stats.json", counter, status)
    assert "0 in the lake (lag -)" in line and "0 late" in line and "0 held" in line
    writer = LakeWriter(str(lake))

    def reading(n: int, late: bool, waited_ms: int, processed: int) -> dict:
        return {"reading_id": f"r{n}", "patient_id": "P-1", "hospital_id": "H01", "ts": now - 60_000, "late": late,
                "arrival_ts": processed - waited_ms, "processed_ts": processed}

    writer.write("vitals", [reading(1, True, 400, now - 9_000), reading(2, False, 9_500, now - 9_000)], "a")
    writer.write("vitals", [reading(3, True, 1_200, now), reading(4, True, 700, now)], "b")
    writer.write("dead_letter", [{"stage": "parse", "reason": "not JSON", "processed_ts": now}], "c")
    line = status_line(tmp_path / "stats.json", counter, status)
    # The newest readings (file b) waited up to 1.2 s: the job is 1.2 s behind the stream, not 9.5.
    assert "4 in the lake (lag 1.2 s)" in line and "1 dead-lettered" in line and "3 late" in line, line
    writer.write("vitals", [reading(5, False, 300, now + 1_000)], "d")
    line = status_line(tmp_path / "stats.json", counter, status)
    assert "5 in the lake (lag 0.3 s)" in line and "3 late" in line, line
