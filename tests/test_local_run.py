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
