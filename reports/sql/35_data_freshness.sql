-- title: Data freshness (now minus the newest row of each table)
-- source: WardWatch KPI: is the pipeline delivering? Scans today's partitions only.
SELECT 'vitals' AS table_name, max(processed_ts) AS newest, current_timestamp AS checked_at FROM vitals WHERE dt = '${day}'
UNION ALL
SELECT 'vitals_1m', max(window_end), current_timestamp FROM vitals_1m WHERE dt = '${day}'
UNION ALL
SELECT 'unit_load_5m', max(window_end), current_timestamp FROM unit_load_5m WHERE dt = '${day}'
UNION ALL
SELECT 'alerts', max(ts), current_timestamp FROM alerts WHERE dt = '${day}'
UNION ALL
SELECT 'encounters', max(processed_ts), current_timestamp FROM encounters WHERE dt = '${day}'
UNION ALL
SELECT 'dead_letter', max(processed_ts), current_timestamp FROM dead_letter WHERE dt = '${day}'
