-- title: 30-day readmission rate (%)
-- source: SOURCE_SYSTEMS A report 7
-- chart: none (one row of figures: the table is the picture)
SELECT count(*) AS admissions, count_if(readmission_30d) AS readmissions,
       round(100 * CAST(count_if(readmission_30d) AS DOUBLE) / nullif(count(*), 0), 1) AS readmission_rate_pct
FROM encounters
WHERE dt = '${day}' AND event = 'admission'
