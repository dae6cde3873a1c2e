-- title: COVID positivity rate (%)
-- source: SOURCE_SYSTEMS A report 15; tests with a result only
-- chart: none (one row of figures: the table is the picture)
SELECT count_if(covid_test = 'positive') AS positive, count_if(covid_test IN ('positive', 'negative')) AS tested,
       round(100 * CAST(count_if(covid_test = 'positive') AS DOUBLE)
             / nullif(count_if(covid_test IN ('positive', 'negative')), 0), 1) AS positivity_pct
FROM encounters
WHERE dt = '${day}' AND event = 'discharge'
