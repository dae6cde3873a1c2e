-- title: NEWS2 band distribution per unit (share of scored readings)
-- source: WardWatch KPI; bands per RCP NEWS2 (2017)
-- chart: label=hospital_id,unit value=pct series=band
SELECT hospital_id, unit, coalesce(news2_band, 'not scored') AS band, count(*) AS readings,
       round(100 * CAST(count(*) AS DOUBLE) / sum(count(*)) OVER (PARTITION BY hospital_id, unit), 1) AS pct
FROM vitals
WHERE dt = '${day}'
GROUP BY hospital_id, unit, coalesce(news2_band, 'not scored')
ORDER BY hospital_id, unit, band
