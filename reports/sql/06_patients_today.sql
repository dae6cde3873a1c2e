-- title: Patients today
-- source: SOURCE_SYSTEMS A report 6; dashboard Patient Inflow
-- chart: none (one row of figures: the table is the picture)
SELECT count(DISTINCT patient_id) AS patients,
       count_if(event = 'admission') AS admissions,
       count_if(event = 'er_triage') AS er_arrivals,
       count_if(event = 'discharge') AS discharges
FROM encounters
WHERE dt = '${day}'
