-- title: Data freshness (seconds from each table's newest event to now)
-- source: WardWatch KPI: is the pipeline delivering? One clock for every table: event time (the
-- reading's, alert's or encounter's own time, a window's end), measured against one checked_at.
-- Scans today's partitions only; no rows: newest and lag empty. Dead letters are not read here (the
-- report job has no access to them; their growth is a CloudWatch alarm).
-- chart: label=table_name value=lag_s
WITH newest AS (
  SELECT 'vitals' AS table_name, max(ts) AS newest FROM vitals WHERE dt = '${day}'
  UNION ALL
  SELECT 'vitals_1m', max(window_end) FROM vitals_1m WHERE dt = '${day}'
  UNION ALL
  SELECT 'unit_load_5m', max(window_end) FROM unit_load_5m WHERE dt = '${day}'
  UNION ALL
  SELECT 'alerts', max(ts) FROM alerts WHERE dt = '${day}'
  UNION ALL
  SELECT 'encounters', max(ts) FROM encounters WHERE dt = '${day}'
), clock AS (
  SELECT current_timestamp AS checked_at
)
SELECT n.table_name, n.newest, c.checked_at,
       round(to_unixtime(c.checked_at) - to_unixtime(n.newest), 1) AS lag_s
FROM newest n CROSS JOIN clock c
