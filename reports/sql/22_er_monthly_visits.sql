-- title: ER visits per month with a running total (the 12 months up to the day)
-- source: SOURCE_SYSTEMS E: monthly visits with a running total
-- chart: label=month value=visits
SELECT substr(dt, 1, 7) AS month, count(*) AS visits,
       sum(count(*)) OVER (ORDER BY substr(dt, 1, 7) ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_total
FROM encounters
WHERE dt BETWEEN CAST(date_add('month', -11, date_trunc('month', DATE '${day}')) AS varchar) AND '${day}'
  AND event = 'er_triage'
GROUP BY substr(dt, 1, 7)
ORDER BY month
