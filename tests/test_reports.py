"""Every report on a small fixture lake against results worked out by hand; dialect lint; pruning; CLI.

The fixture is written by the job's own LakeWriter (real Parquet, dt=/hour= partitions) on
three days, so a report that ignored its day filter would count rows it must not.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flink_app.io.lake import LakeWriter
from reports.__main__ import main as cli
from reports.catalog import check_day, find, load
from reports.dialect import check
from reports.engine import LocalAthena

DAY = "2026-03-10"


def ms(day: str, hh: int = 10, mm: int = 0) -> int:
    return int(datetime.fromisoformat(f"{day}T{hh:02d}:{mm:02d}:00+00:00").timestamp() * 1000)


def enc(event, pid, day, hospital, unit=None, hh=10, **kw):
    return {"event_id": f"{event}-{pid}-{day}", "event": event, "patient_id": pid, "encounter_id": f"E-{pid}",
            "hospital_id": hospital, "unit": unit, "ts": ms(day, hh), "processed_ts": ms(day, hh), **kw}


ENCOUNTERS = [
    # the report day
    enc("admission", "P1", DAY, "H01", "ICU", bed_type="ICU", reason_for_visit="chest pain", medications=["aspirin", "morphine"],
        critical_condition=True, is_emergency=True, doctor_id="D1", insurance_provider="Aetna", payment_method="insurance",
        readmission_30d=True, triage_level=2),
    enc("admission", "P2", DAY, "H01", "Ward-A", bed_type="general", reason_for_visit="headache", medications=["paracetamol"],
        critical_condition=False, is_emergency=False, doctor_id="D1", insurance_provider="none", payment_method="cash",
        readmission_30d=False, triage_level=4),
    enc("admission", "P3", DAY, "H02", "Ward-A", bed_type="general", reason_for_visit="chest pain", medications=["aspirin"],
        critical_condition=True, is_emergency=True, doctor_id="D2", insurance_provider="Cigna", payment_method="insurance",
        readmission_30d=False, triage_level=2),
    enc("er_triage", "P4", DAY, "H02", "ER", er_department="cardiology", triage_level=1, wait_minutes=4.0, doctor_id="D2",
        critical_condition=True, is_emergency=True),
    enc("er_triage", "P5", DAY, "H02", "ER", er_department="cardiology", triage_level=3, wait_minutes=40.0, doctor_id="D3",
        critical_condition=False, is_emergency=True),
    enc("er_triage", "P6", DAY, "H01", "ER", er_department="general ER", triage_level=2, wait_minutes=10.0, doctor_id="D2",
        critical_condition=False, is_emergency=True),
    enc("discharge", "P7", DAY, "H01", "Ward-B", reason_for_visit="kidney stone", length_of_stay_days=3.0,
        treatment_minutes=90.0, covid_test="negative", readmission_30d=False),
    enc("discharge", "P8", DAY, "H02", "ICU", reason_for_visit="stroke symptoms", length_of_stay_days=1.5,
        treatment_minutes=240.0, covid_test="positive", readmission_30d=True),
    enc("payment", "P7", DAY, "H01", hh=11, amount=1200.0, insurance_provider="Aetna", payment_method="insurance"),
    enc("payment", "P8", DAY, "H02", hh=11, amount=300.0, insurance_provider="none", payment_method="cash"),
    # earlier days: the visits of P7 and P8, and rows the day's reports must not count
    enc("admission", "P7", "2026-03-07", "H01", "Ward-B", bed_type="private", reason_for_visit="kidney stone",
        critical_condition=False, is_emergency=False, doctor_id="D1", readmission_30d=False),
    enc("er_triage", "P8", "2026-03-09", "H02", "ER", er_department="neurology", triage_level=1, wait_minutes=2.0,
        doctor_id="D2", critical_condition=True, is_emergency=True),
    enc("admission", "P8", "2026-03-09", "H02", "ICU", bed_type="ICU", reason_for_visit="stroke symptoms",
        critical_condition=True, is_emergency=True, doctor_id="D2", readmission_30d=True),
    enc("admission", "P9", "2026-03-09", "H01", "Ward-A", bed_type="general", reason_for_visit="headache",
        medications=["paracetamol"], doctor_id="D1", insurance_provider="none", readmission_30d=True),
    enc("er_triage", "P10", "2026-02-15", "H01", "ER", er_department="general ER", triage_level=2, wait_minutes=7.0,
        doctor_id="D2"),
]


def vital(pid, unit, mm, spo2, total, band, day=DAY, **kw):
    return {"reading_id": f"R-{pid}-{day}-{mm}", "patient_id": pid, "encounter_id": f"E-{pid}", "hospital_id": "H01",
            "unit": unit, "bed": f"{unit}-1", "ts": ms(day, 10, mm), "spo2": spo2, "news2_total": total,
            "news2_band": band, "processed_ts": ms(day, 10, mm) + 500, **kw}


VITALS = [vital("P1", "ICU", 0, 90.0, 7, "high"), vital("P1", "ICU", 1, 88.0, 8, "high"), vital("P1", "ICU", 2, 95.0, 2, "low"),
          vital("P2", "Ward-A", 30, 93.0, 0, "low"), vital("P1", "ICU", 5, 70.0, 9, "high", day="2026-03-09"),
          # P3 is on SpO2 scale 2 (prescribed 88-92%): 90% is on target, 86% is low
          vital("P3", "Resp", 10, 90.0, None, None, spo2_scale=2), vital("P3", "Resp", 11, 86.0, None, None, spo2_scale=2)]


def alert(aid, rule, severity, status, mm):
    return {"alert_id": aid, "rule": rule, "severity": severity, "status": status, "patient_id": "P1",
            "hospital_id": "H01", "unit": "ICU", "bed": "ICU-1", "ts": ms(DAY, 10, mm), "episode_start": ms(DAY, 10, 0)}


ALERTS = [alert("A1", "spo2_low", "critical", "open", 0), alert("A2", "news2_urgent", "urgent", "open", 0),
          alert("A3", "spo2_low", "critical", "re-alert", 30), alert("A4", "spo2_low", "critical", "all-clear", 50)]


def minute(pid, unit, m, band):
    start = ms(DAY, 12) + m * 60_000
    return {"patient_id": pid, "hospital_id": "H01", "unit": unit, "window_start": start, "window_end": start + 60_000,
            "readings": 1, "news2_band_worst": band}


MINUTES = ([minute("P1", "ICU", m, "low" if m < 40 else "high") for m in range(60)]
           + [minute("P2", "Ward-A", m, "low") for m in range(30)])


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    writer = LakeWriter(str(root))
    for table, rows in (("encounters", ENCOUNTERS), ("vitals", VITALS), ("alerts", ALERTS), ("vitals_1m", MINUTES)):
        writer.write(table, rows, "fixture")
    return root


@pytest.fixture(scope="module")
def engine(lake):
    return LocalAthena(str(lake))


def rows(engine, name):
    return [tuple(r.values()) for r in engine.run(find(name), DAY).to_pylist()]


EXPECTED = {
    "top_visit_reasons": [("chest pain", 2), ("headache", 1)],
    "patients_by_department": [("ER", 3), ("Ward-A", 2), ("ICU", 1)],
    "top_medications": [("aspirin", 2), ("morphine", 1), ("paracetamol", 1)],
    "bed_type_usage": [("general", 2), ("ICU", 1)],
    "treatment_duration_by_reason": [("stroke symptoms", 1, 240.0), ("kidney stone", 1, 90.0)],
    "patients_today": [(8, 3, 3, 2)],
    "readmission_rate": [(3, 1, 33.3)],
    "insurance_by_payment": [("Aetna", "insurance", 1, 1200.0), ("none", "cash", 1, 300.0)],
    "critical_by_department": [("ER", 1, 3), ("ICU", 1, 1), ("Ward-A", 1, 2)],
    "critical_load_per_doctor": [("D1", 2, 1, 1, 1), ("D2", 1, 1, 1, 0)],
    "branch_totals": [("H01", 2, 1, 3.0), ("H02", 1, 1, 1.5)],
    "longest_stays": [("P7", "H01", "kidney stone", 3.0), ("P8", "H02", "stroke symptoms", 1.5)],
    "emergency_outcomes": [("emergency", 1, 1.5, 1), ("non-emergency", 1, 3.0, 0)],
    "covid_positivity": [(1, 2, 50.0)],
    "uninsured_by_branch": [("H01", 1)],
    "stay_by_bed_type": [("ICU", 1, 1.5), ("private", 1, 3.0)],
    "er_wait_vs_department": [("cardiology", "P5", 3, 40.0, 22.0, 18.0, 1), ("cardiology", "P4", 1, 4.0, 22.0, -18.0, 2),
                              ("general ER", "P6", 2, 10.0, 10.0, 0.0, 1)],
    "er_critical_workload_per_doctor": [("D2", 2, 1)],
    "er_monthly_visits": [("2026-02", 1, 1), ("2026-03", 4, 5)],
    "er_wait_by_department_triage": [("cardiology", 1, 1, 4.0, 4.0), ("cardiology", 3, 1, 40.0, 40.0),
                                     ("general ER", 2, 1, 10.0, 10.0)],
    "alerts_per_unit_rule": [("H01", "ICU", "spo2_low", "critical", 2), ("H01", "ICU", "news2_urgent", "urgent", 1)],
    "alert_burden": [("H01", "ICU", 1.0, 3, 300.0), ("H01", "Ward-A", 0.5, 0, 0.0)],
    "news2_band_distribution": [("H01", "ICU", "high", 2, 66.7), ("H01", "ICU", "low", 1, 33.3),
                                ("H01", "Resp", "not scored", 2, 100.0), ("H01", "Ward-A", "low", 1, 100.0)],
    "hours_in_news2_band": [("H01", "ICU", "high", 0.33, 1), ("H01", "ICU", "low", 0.67, 1), ("H01", "Ward-A", "low", 0.5, 1)],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_report_matches_hand_worked_result(engine, name):
    assert rows(engine, name) == EXPECTED[name]


def test_low_oxygen_patients_respects_the_patients_scale(engine):
    p1, p3 = engine.run(find("low_oxygen_patients"), DAY).to_pylist()[::-1]
    assert (p1["patient_id"], p1["spo2_scale"], p1["lowest_spo2"], p1["readings_below_target"]) == ("P1", 1, 88.0, 2)
    assert p1["first_below"] == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    assert p1["last_below"] == datetime(2026, 3, 10, 10, 1, tzinfo=UTC)
    # scale 2: 90% is inside the prescribed 88-92% and is not counted; 86% is
    assert (p3["patient_id"], p3["spo2_scale"], p3["lowest_spo2"], p3["readings_below_target"]) == ("P3", 2, 86.0, 1)


def test_sickest_patients_now(engine):
    got = [(r["patient_id"], r["news2_total"], r["news2_band"]) for r in engine.run(find("sickest_patients_now"), DAY).to_pylist()]
    assert got == [("P1", 2, "low"), ("P2", 0, "low")]  # the latest score, not the day's worst


def test_data_freshness_gives_the_lag_of_every_table_on_one_clock(engine):
    got = {r["table_name"]: r for r in engine.run(find("data_freshness"), DAY).to_pylist()}
    assert got["vitals"]["newest"] == datetime(2026, 3, 10, 10, 30, tzinfo=UTC)  # event time, not processing time
    assert got["alerts"]["newest"] == datetime(2026, 3, 10, 10, 50, tzinfo=UTC)
    assert got["vitals_1m"]["newest"] == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    checked = {r["checked_at"] for r in got.values()}
    assert len(checked) == 1  # one clock for every table
    [now] = checked
    for name in ("vitals", "alerts", "vitals_1m"):
        assert got[name]["lag_s"] == pytest.approx((now - got[name]["newest"]).total_seconds(), abs=0.1)
    assert got["unit_load_5m"]["newest"] is None and got["unit_load_5m"]["lag_s"] is None  # no rows: the table still answers
    assert "dead_letter" not in got  # the report job cannot read dead letters


def test_every_report_is_covered_and_passes_the_dialect_lint():
    names = {r.name.split("_", 1)[1] for r in load()}
    assert names == set(EXPECTED) | {"low_oxygen_patients", "sickest_patients_now", "data_freshness"}
    assert len(load()) == 27
    for report in load():
        assert check(report.sql) == [], report.name
        assert "${day}" in report.sql, f"{report.name} must filter its partitions by the report day"


@pytest.mark.parametrize("sql, problem", [
    ("SELECT date_diff('day', a, b) FROM t", "date_diff"),
    ("SELECT count(*) / 2 FROM t", "division"),
    ("SELECT 100 * x / y FROM t", "division"),
    ("SELECT format_datetime(ts, 'yyyy') FROM t", "format_datetime"),
    ("SELECT to_iso8601(ts) FROM t", "to_iso8601"),
])
def test_dialect_lint_catches_what_translates_wrongly(sql, problem):
    assert any(problem in p for p in check(sql))
    assert check("SELECT CAST(count(*) AS DOUBLE) / 2, 100 * CAST(x AS DOUBLE) / y FROM t") == []


def test_why_the_lint_exists(engine):
    # The same text gives different answers: Trino divides integers as integers, DuckDB does not.
    assert engine.con.execute("SELECT 5 / 2").fetchone()[0] == 2.5
    assert engine.con.execute("SELECT date_diff('day', TIMESTAMP '2026-03-09 23:00', TIMESTAMP '2026-03-10 01:00')"
                              ).fetchone()[0] == 1  # Trino: 0 whole days


def test_day_filter_prunes_partitions(engine):
    plan = engine.explain(find("top_visit_reasons"), DAY)
    # DuckDB applies the dt filter to the file list before reading: the day's 2 files (hours 10 and 11) of 5.
    assert "File Filters" in plan and "dt" in plan
    assert "Scanning Files: 2/5" in plan


def test_cli_writes_csvs_and_one_html_page(lake, tmp_path, capsys):
    assert cli(["--lake", str(lake), "--day", DAY, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "[27/27]" in out
    folder = tmp_path / DAY
    assert len(list(folder.glob("*.csv"))) == 27
    assert (folder / "07_readmission_rate.csv").read_text().splitlines() == [
        '"admissions","readmissions","readmission_rate_pct"', "3,1,33.3"]
    page = (folder / "report.html").read_text()
    assert page.count('<section id="') == 27 and "data:image/png;base64," in page and "http" not in page.split("<body>")[1]
    # The source system's six dashboards, as pictures.
    for board in ("Patient Inflow", "Hospital Load by Department", "Financial Risk", "Doctor Critical Load",
                  "Resource Utilization", "Longest Stay"):
        assert f"Dashboard: {board}" in page


def test_cli_refuses_bad_input(tmp_path, capsys):
    assert cli(["--lake", str(tmp_path / "none"), "--day", DAY]) == 2
    assert cli(["--lake", str(tmp_path), "--day", "10/03/2026"]) == 2
    assert cli(["--lake", str(tmp_path), "--day", DAY, "--report", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no lake at" in err and "expected YYYY-MM-DD" in err and "no single report" in err
    with pytest.raises(ValueError):
        check_day("2026-02-30")


def test_daily_report_lambda_copies_each_athena_result_to_s3(monkeypatch):
    """The scheduled handler against a moto server (Athena and S3 over HTTP).

    moto's Athena accepts and "runs" queries but writes no result file: the one part that
    cannot run here. The wrapper below writes the CSV where Athena would, and says so.
    """
    from core import aws
    from infra.local.stack import MotoServer, use_local_credentials
    from reports import scheduled

    use_local_credentials()
    with MotoServer() as moto:
        s3 = aws.client("s3", "us-east-1", moto.endpoint)
        athena = aws.client("athena", "us-east-1", moto.endpoint)
        s3.create_bucket(Bucket="results")
        athena.create_work_group(Name="wg", Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/athena/"}})
        sqls = []

        class AthenaWritingResults:  # stands in for Athena's own result writing (see docstring)
            def start_query_execution(self, **kw):
                qid = athena.start_query_execution(**kw)["QueryExecutionId"]
                sqls.append(kw["QueryString"])
                s3.put_object(Bucket="results", Key=f"athena/{qid}.csv", Body=b'"n"\n1\n')
                return {"QueryExecutionId": qid}

            def get_query_execution(self, **kw):
                status = athena.get_query_execution(**kw)
                status["QueryExecution"]["ResultConfiguration"] = {
                    "OutputLocation": f"s3://results/athena/{kw['QueryExecutionId']}.csv"}
                return status

        monkeypatch.setenv("DATABASE", "wardwatch_dev")
        monkeypatch.setenv("WORKGROUP", "wg")
        monkeypatch.setenv("RESULTS_BUCKET", "results")
        monkeypatch.setenv("RESULTS_KEY_ARN", "arn:aws:kms:us-east-1:123456789012:key/test")
        out = scheduled.handler({"day": DAY}, athena=AthenaWritingResults(), s3=s3)
        assert out == {"day": DAY, "reports": 27, "prefix": f"s3://results/reports/{DAY}/"}
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="results", Prefix=f"reports/{DAY}/")["Contents"])
        assert keys == sorted(f"reports/{DAY}/{r.name}.csv" for r in load())
        assert all(f"'{DAY}'" in sql and "${day}" not in sql for sql in sqls)
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            scheduled.handler({"day": "yesterday"}, athena=AthenaWritingResults(), s3=s3)


def test_same_reports_over_the_lake_on_moto_s3(moto_endpoint, unique):
    """The lake on S3 (moto over HTTP, DuckDB's httpfs from the pinned wheel): same answers."""
    from core import aws

    bucket = f"lake-{unique}"
    aws.client("s3", "us-east-1", moto_endpoint).create_bucket(Bucket=bucket)
    writer = LakeWriter(f"s3://{bucket}/lake", "us-east-1", moto_endpoint)
    for table, data in (("encounters", ENCOUNTERS), ("vitals", VITALS), ("alerts", ALERTS), ("vitals_1m", MINUTES)):
        writer.write(table, data, "fixture")
    s3_engine = LocalAthena(f"s3://{bucket}/lake", endpoint_url=moto_endpoint)
    for name in ("emergency_outcomes", "er_wait_vs_department", "alert_burden", "top_medications"):
        assert rows(s3_engine, name) == EXPECTED[name]


# --- charts: each report declares its label, value and series columns (reports/chart.py) ---

# What each chart must plot, from its title: the column guessed before was wrong in 10 of 17.
CHART_VALUE = {
    "top_visit_reasons": "admissions", "patients_by_department": "patients", "top_medications": "patients",
    "bed_type_usage": "admissions", "treatment_duration_by_reason": "avg_treatment_minutes",
    "insurance_by_payment": "amount", "critical_by_department": "critical_cases",
    "low_oxygen_patients": "readings_below_target", "critical_load_per_doctor": "critical_patients",
    "branch_totals": "admissions,critical", "longest_stays": "length_of_stay_days", "emergency_outcomes": "avg_stay_days",
    "uninsured_by_branch": "uninsured_patients", "stay_by_bed_type": "avg_stay_days",
    "er_wait_vs_department": "minutes_over_average", "er_critical_workload_per_doctor": "critical_patients",
    "er_monthly_visits": "visits", "er_wait_by_department_triage": "avg_wait_minutes", "alerts_per_unit_rule": "alerts",
    "alert_burden": "alerts_per_100_patient_hours", "news2_band_distribution": "pct",
    "hours_in_news2_band": "patient_hours", "sickest_patients_now": "news2_total", "data_freshness": "lag_s",
}
ONE_ROW_FIGURES = {"patients_today", "readmission_rate", "covid_positivity"}


def test_every_report_declares_its_chart():
    for report in load():
        name = report.name.split("_", 1)[1]
        if name in ONE_ROW_FIGURES:
            assert report.chart is None and report.chart_note, name
        else:
            assert ",".join(report.chart.values) == CHART_VALUE[name], name


@pytest.mark.parametrize("name", sorted(CHART_VALUE))
def test_every_chart_shows_its_reports_rows(engine, name):
    """Each bar is one row's declared label and value, in the report's order; no row merges into another."""
    from reports.chart import chart_data

    report = find(name)
    table = engine.run(report, DAY)
    data = chart_data(table, report.chart, report.title)
    rows = table.to_pylist()
    spec = report.chart
    if not rows:
        assert data.why_none == "no rows for this day" and not data.labels
        return
    expected_labels = list(dict.fromkeys(" / ".join("–" if r[c] is None else str(r[c]) for c in spec.labels) for r in rows))
    assert data.labels == expected_labels[:20]
    if spec.series:
        for r in rows:
            label = " / ".join(str(r[c]) for c in spec.labels)
            assert data.series[str(r[spec.series])][data.labels.index(label)] == r[spec.values[0]]
    else:
        assert len(expected_labels) == len(rows), "two rows would share one bar"
        for column in spec.values:
            assert data.series[column.replace("_", " ")] == [r[column] for r in rows][:20]


def test_charts_that_were_wrong(engine):
    """The cases that plotted the wrong thing: admissions for critical cases, readmissions for
    critical load, triage levels merged, the last band per unit instead of every band."""
    from reports.chart import chart_data

    def data(name):
        report = find(name)
        return chart_data(engine.run(report, DAY), report.chart, report.title)

    assert data("critical_by_department").series == {"critical cases": [1, 1, 1]}
    assert data("critical_load_per_doctor").series == {"critical patients": [1, 1]}
    assert data("er_wait_by_department_triage").labels == ["cardiology / 1", "cardiology / 3", "general ER / 2"]
    bands = data("news2_band_distribution")
    assert bands.labels == ["H01 / ICU", "H01 / Resp", "H01 / Ward-A"] and bands.stacked
    assert bands.series == {"high": [66.7, None, None], "low": [33.3, None, 100.0], "not scored": [None, 100.0, None]}
    assert data("branch_totals").series == {"admissions": [2, 1], "critical": [1, 1]}


def test_a_chart_says_what_it_leaves_out_and_why_it_is_empty():
    import pyarrow as pa

    from reports.chart import ChartSpec, chart_data, draw

    many = pa.table({"doctor_id": [f"D{i:02d}" for i in range(25)], "patients": list(range(25, 0, -1))})
    data = chart_data(many, ChartSpec(("doctor_id",), ("patients",)), "t")
    assert len(data.labels) == 20 and data.truncated and data.caption() == "First 20 of 25 shown (the table has them all)."
    assert draw(data).startswith("data:image/png;base64,")
    empty = pa.table({"hospital_id": ["H01", "H02"], "avg_stay_days": pa.array([None, None], pa.float64())})
    data = chart_data(empty, ChartSpec(("hospital_id",), ("avg_stay_days",)), "t")
    assert draw(data) is None and data.caption() == "No chart: every avg stay days is empty."
    with pytest.raises(ValueError, match="does not have: nope"):
        chart_data(many, ChartSpec(("doctor_id",), ("nope",)), "t")


def test_chart_labels_are_plain_text():
    """A unit named like TeX made matplotlib's mathtext crash `python -m reports`; 2,000 '{' recursed."""
    import pyarrow as pa

    from reports.chart import ChartSpec, chart_data, draw

    nasty = ["$\\undefinedcommand$", "{" * 2000, "$x$ and $y$", "line\nbreak", "ICU"]
    data = chart_data(pa.table({"unit": nasty, "alerts": [1, 2, 3, 4, 5]}), ChartSpec(("unit",), ("alerts",)), "t")
    assert draw(data).startswith("data:image/png;base64,")
    assert data.labels[0] == "$\\undefinedcommand$" and len(data.labels[1]) == 40 and data.labels[3] == "line break"


def test_a_day_without_data_says_so_and_lists_the_days_that_have_it(lake, tmp_path, capsys):
    assert cli(["--lake", str(lake), "--day", "2026-03-12", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no data for 2026-03-12" in err and "2026-02-15, 2026-03-07, 2026-03-09, 2026-03-10" in err
    assert not list(tmp_path.rglob("*.csv"))
