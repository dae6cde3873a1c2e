"""The QuickSight data sets and dashboards, as data (no CDK import): what each shows and from where.

Data sets are Athena (Trino) SQL over the curated Glue tables, with no patient or encounter
identifiers: counts are rows (one per event or visit) and flags are 0/1 columns, so every
visual is a plain SUM, AVG, MAX or distinct count of a column the data set declares. Every
data set carries ``hospital_id`` for row-level security. Live views query Athena directly;
the encounter history is imported into SPICE and refreshed on a schedule. Tests run every
data set's SQL on the local engine (DuckDB) over a fixture lake and check each visual's fields
against the data set's columns and each column against the Glue schema.

The dashboards reproduce the source systems' (SOURCE_SYSTEMS.md A: Patient Inflow, Hospital
Load by Department, Financial Risk, Doctor Critical Load, Resource Utilization, Longest Stay;
E: the ER board) and add the vitals and alerts dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# QuickSight column types for the data sets' declared columns.
STRING, INTEGER, DECIMAL, DATETIME = "STRING", "INTEGER", "DECIMAL", "DATETIME"


@dataclass(frozen=True)
class DataSetSpec:
    id: str
    title: str
    sql: str
    columns: tuple[tuple[str, str], ...]
    mode: str = "DIRECT_QUERY"  # or SPICE
    refresh: str | None = None  # SPICE only: "HOURLY" or "DAILY"

    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]


@dataclass(frozen=True)
class Visual:
    kind: str  # KPI | BAR | STACKED_BAR | PIE | LINE | FUNNEL | TABLE
    title: str
    dataset: str
    value: str
    agg: str = "SUM"  # SUM | AVERAGE | MAX | COUNT | DISTINCT_COUNT
    category: str | None = None
    series: str | None = None  # STACKED_BAR / LINE colour
    limit: int | None = None  # bars shown, largest first ("Other" keeps the rest)
    table_columns: tuple[str, ...] = ()  # TABLE: columns shown, sorted by ``value`` descending


@dataclass(frozen=True)
class DashboardSpec:
    id: str
    title: str
    source: str
    visuals: tuple[Visual, ...] = field(default_factory=tuple)


_DAYS = "dt >= CAST(date_add('day', -{days}, current_date) AS varchar)"

ENCOUNTER_EVENTS = DataSetSpec(
    "encounter-events", "Encounter events (400 days, no identifiers)",
    f"""WITH beds AS (
  SELECT encounter_id, max_by(bed_type, ts) AS visit_bed_type
  FROM encounters
  WHERE {_DAYS.format(days=460)} AND event IN ('admission', 'transfer') AND bed_type IS NOT NULL
  GROUP BY encounter_id
)
SELECT e.dt, substr(e.dt, 1, 7) AS month, e.event, e.hospital_id, e.unit AS department, e.bed_type,
       coalesce(b.visit_bed_type, 'unknown') AS visit_bed_type, e.reason_for_visit, e.doctor_id,
       coalesce(e.insurance_provider, 'none') AS insurance_provider, e.payment_method, e.amount,
       e.triage_level, e.er_department, e.wait_minutes, e.gender, e.blood_group, e.age_years,
       e.length_of_stay_days, e.treatment_minutes,
       CASE WHEN e.event = 'admission' THEN 1 ELSE 0 END AS admissions,
       CASE WHEN e.event = 'er_triage' THEN 1 ELSE 0 END AS er_visits,
       CASE WHEN e.event = 'discharge' THEN 1 ELSE 0 END AS discharges,
       CASE WHEN e.event = 'payment' THEN 1 ELSE 0 END AS payments,
       CASE WHEN e.event IN ('admission', 'transfer', 'er_triage') THEN 1 ELSE 0 END AS arrivals,
       CASE WHEN e.event IN ('admission', 'er_triage') AND e.critical_condition THEN 1 ELSE 0 END AS critical_cases,
       CASE WHEN e.event = 'er_triage' AND e.triage_level <= 2 THEN 1 ELSE 0 END AS er_critical,
       CASE WHEN e.event = 'admission' AND e.is_emergency THEN 1 ELSE 0 END AS emergencies,
       CASE WHEN e.event = 'admission' AND e.readmission_30d THEN 1 ELSE 0 END AS readmissions,
       CASE WHEN e.event = 'admission' AND (e.insurance_provider IS NULL OR e.insurance_provider = 'none')
            THEN 1 ELSE 0 END AS uninsured
FROM encounters e
LEFT JOIN beds b ON b.encounter_id = e.encounter_id
WHERE e.{_DAYS.format(days=400)}""",
    (("dt", STRING), ("month", STRING), ("event", STRING), ("hospital_id", STRING), ("department", STRING),
     ("bed_type", STRING), ("visit_bed_type", STRING), ("reason_for_visit", STRING), ("doctor_id", STRING),
     ("insurance_provider", STRING), ("payment_method", STRING), ("amount", DECIMAL), ("triage_level", INTEGER),
     ("er_department", STRING), ("wait_minutes", DECIMAL), ("gender", STRING), ("blood_group", STRING),
     ("age_years", INTEGER), ("length_of_stay_days", DECIMAL), ("treatment_minutes", DECIMAL),
     ("admissions", INTEGER), ("er_visits", INTEGER), ("discharges", INTEGER), ("payments", INTEGER),
     ("arrivals", INTEGER), ("critical_cases", INTEGER), ("er_critical", INTEGER), ("emergencies", INTEGER),
     ("readmissions", INTEGER), ("uninsured", INTEGER)),
    mode="SPICE", refresh="HOURLY")

READINGS_24H = DataSetSpec(
    "readings-24h", "Scored readings, last 24 hours",
    f"""SELECT hospital_id, unit, coalesce(news2_band, 'not scored') AS news2_band, news2_total, ts, dt
FROM vitals
WHERE {_DAYS.format(days=1)} AND ts >= current_timestamp - INTERVAL '1' DAY""",
    (("hospital_id", STRING), ("unit", STRING), ("news2_band", STRING), ("news2_total", INTEGER), ("ts", DATETIME),
     ("dt", STRING)))

PATIENTS_NOW = DataSetSpec(
    "patients-now", "Each monitored patient's latest NEWS2 (last hour)",
    f"""WITH latest AS (
  SELECT patient_id, max_by(hospital_id, ts) AS hospital_id, max_by(unit, ts) AS unit, max_by(bed, ts) AS bed,
         max_by(news2_total, ts) AS news2_total, max_by(news2_band, ts) AS news2_band, max(ts) AS last_reading
  FROM vitals
  WHERE {_DAYS.format(days=1)} AND ts >= current_timestamp - INTERVAL '1' HOUR AND news2_total IS NOT NULL
  GROUP BY patient_id
)
SELECT hospital_id, unit, bed, news2_total, news2_band, last_reading, 1 AS patients FROM latest""",
    (("hospital_id", STRING), ("unit", STRING), ("bed", STRING), ("news2_total", INTEGER), ("news2_band", STRING),
     ("last_reading", DATETIME), ("patients", INTEGER)))

ALERTS_7D = DataSetSpec(
    "alerts-7d", "Alerts, last 7 days",
    f"""SELECT hospital_id, unit, rule, severity, status, tier, ts, dt,
       CASE WHEN status IN ('open', 'escalated', 're-alert') THEN 1 ELSE 0 END AS raised
FROM alerts
WHERE {_DAYS.format(days=7)}""",
    (("hospital_id", STRING), ("unit", STRING), ("rule", STRING), ("severity", STRING), ("status", STRING),
     ("tier", STRING), ("ts", DATETIME), ("dt", STRING), ("raised", INTEGER)))

ALERT_BURDEN_7D = DataSetSpec(
    "alert-burden-7d", "Alert burden per 100 patient-hours, last 7 days",
    f"""WITH monitored AS (
  SELECT hospital_id, unit, count(*) AS patient_minutes
  FROM vitals_1m WHERE {_DAYS.format(days=7)} GROUP BY hospital_id, unit
), raised AS (
  SELECT hospital_id, unit, count(*) AS alerts
  FROM alerts WHERE {_DAYS.format(days=7)} AND status IN ('open', 'escalated', 're-alert') GROUP BY hospital_id, unit
)
SELECT m.hospital_id, m.unit, round(CAST(m.patient_minutes AS DOUBLE) / 60, 2) AS patient_hours,
       coalesce(r.alerts, 0) AS alerts,
       round(100 * CAST(coalesce(r.alerts, 0) AS DOUBLE) / (CAST(m.patient_minutes AS DOUBLE) / 60), 2)
         AS alerts_per_100_patient_hours
FROM monitored m
LEFT JOIN raised r ON r.hospital_id = m.hospital_id AND r.unit = m.unit""",
    (("hospital_id", STRING), ("unit", STRING), ("patient_hours", DECIMAL), ("alerts", INTEGER),
     ("alerts_per_100_patient_hours", DECIMAL)))

UNIT_LOAD_24H = DataSetSpec(
    "unit-load-24h", "Unit load (5-minute windows), last 24 hours",
    f"""SELECT hospital_id, unit, window_end, patients, critical_patients, urgent_patients, readings, alerts
FROM unit_load_5m
WHERE {_DAYS.format(days=1)} AND window_end >= current_timestamp - INTERVAL '1' DAY""",
    (("hospital_id", STRING), ("unit", STRING), ("window_end", DATETIME), ("patients", INTEGER),
     ("critical_patients", INTEGER), ("urgent_patients", INTEGER), ("readings", INTEGER), ("alerts", INTEGER)))

DATASETS: tuple[DataSetSpec, ...] = (ENCOUNTER_EVENTS, READINGS_24H, PATIENTS_NOW, ALERTS_7D, ALERT_BURDEN_7D,
                                     UNIT_LOAD_24H)

E = ENCOUNTER_EVENTS.id
DASHBOARDS: tuple[DashboardSpec, ...] = (
    DashboardSpec("patient-inflow", "Patient Inflow", "SOURCE_SYSTEMS A: total patients, visit reasons", (
        Visual("KPI", "Arrivals (admissions, transfers, ER)", E, "arrivals"),
        Visual("KPI", "Admissions", E, "admissions"),
        Visual("BAR", "Top visit reasons (admissions)", E, "admissions", category="reason_for_visit", limit=5),
        Visual("LINE", "Admissions per day", E, "admissions", category="dt"),
    )),
    DashboardSpec("hospital-load", "Hospital Load by Department", "SOURCE_SYSTEMS A: patients and critical cases per department", (
        Visual("BAR", "Arrivals by department", E, "arrivals", category="department"),
        Visual("BAR", "Critical cases by department", E, "critical_cases", category="department"),
        Visual("STACKED_BAR", "Arrivals by hospital and department", E, "arrivals", category="hospital_id",
               series="department"),
    )),
    DashboardSpec("financial-risk", "Financial Risk", "SOURCE_SYSTEMS A: payment methods, uninsured by branch", (
        Visual("BAR", "Amount paid by payment method", E, "amount", category="payment_method"),
        Visual("PIE", "Payments by insurance provider", E, "payments", category="insurance_provider"),
        Visual("BAR", "Uninsured admissions by hospital", E, "uninsured", category="hospital_id"),
    )),
    DashboardSpec("doctor-critical-load", "Doctor Critical Load",
                  "SOURCE_SYSTEMS A: critical patients per doctor, readmission rate, emergency count", (
        Visual("BAR", "Critical cases per doctor", E, "critical_cases", category="doctor_id", limit=20),
        Visual("KPI", "Readmission rate (share of admissions)", E, "readmissions", agg="AVERAGE"),
        Visual("BAR", "Emergency admissions per doctor", E, "emergencies", category="doctor_id", limit=20),
    )),
    DashboardSpec("resource-utilization", "Resource Utilization",
                  "SOURCE_SYSTEMS A: bed types, average stay, patients by branch", (
        Visual("BAR", "Admissions by bed type", E, "admissions", category="bed_type"),
        Visual("BAR", "Average stay by bed type (days, discharges)", E, "length_of_stay_days", agg="AVERAGE",
               category="visit_bed_type"),
        Visual("BAR", "Admissions by hospital", E, "admissions", category="hospital_id"),
    )),
    DashboardSpec("longest-stay", "Longest Stay", "SOURCE_SYSTEMS A: top 10, maximum", (
        Visual("KPI", "Longest stay (days)", E, "length_of_stay_days", agg="MAX"),
        Visual("TABLE", "Longest stays (discharges, longest first)", E, "length_of_stay_days",
               table_columns=("dt", "hospital_id", "department", "reason_for_visit", "length_of_stay_days"), limit=10),
    )),
    DashboardSpec("er-board", "Emergency Room", "SOURCE_SYSTEMS E: the ER dashboard", (
        Visual("KPI", "ER visits", E, "er_visits"),
        Visual("KPI", "Average wait (min)", E, "wait_minutes", agg="AVERAGE"),
        Visual("KPI", "Longest wait (min)", E, "wait_minutes", agg="MAX"),
        Visual("KPI", "Critical cases (triage 1-2)", E, "er_critical"),
        Visual("KPI", "Active doctors", E, "doctor_id", agg="DISTINCT_COUNT"),
        Visual("FUNNEL", "Triage funnel", E, "er_visits", category="triage_level"),
        Visual("PIE", "Gender split", E, "er_visits", category="gender"),
        Visual("BAR", "Average wait by department (min)", E, "wait_minutes", agg="AVERAGE", category="er_department"),
        Visual("LINE", "ER visits per month", E, "er_visits", category="month"),
        Visual("BAR", "Visits per doctor", E, "er_visits", category="doctor_id", limit=20),
        Visual("BAR", "Blood group demand", E, "er_visits", category="blood_group"),
    )),
    DashboardSpec("vitals-alerts", "Vitals and Alerts", "WardWatch: NEWS2 bands per unit, alert burden, patients by band now", (
        Visual("STACKED_BAR", "NEWS2 bands per unit (readings, 24 h)", READINGS_24H.id, "news2_total", agg="COUNT",
               category="unit", series="news2_band"),
        Visual("PIE", "Patients by NEWS2 band now", PATIENTS_NOW.id, "patients", category="news2_band"),
        Visual("TABLE", "Sickest patients now", PATIENTS_NOW.id, "news2_total",
               table_columns=("hospital_id", "unit", "bed", "news2_total", "news2_band", "last_reading"), limit=20),
        Visual("BAR", "Alert burden per 100 patient-hours (7 days)", ALERT_BURDEN_7D.id, "alerts_per_100_patient_hours",
               agg="MAX", category="unit"),
        Visual("STACKED_BAR", "Alerts raised by rule and severity (7 days)", ALERTS_7D.id, "raised", category="rule",
               series="severity"),
        Visual("LINE", "Critical patients per unit (5-minute windows, 24 h)", UNIT_LOAD_24H.id, "critical_patients",
               category="window_end", series="unit"),
    )),
)
