-- title: Alerts per unit by rule and severity
-- source: WardWatch KPI (alarm burden, CLINICAL.md); new episodes and escalations, not all-clears
-- chart: label=hospital_id,unit,rule,severity value=alerts
SELECT hospital_id, unit, rule, severity, count(*) AS alerts
FROM alerts
WHERE dt = '${day}' AND status IN ('open', 'escalated', 're-alert')
GROUP BY hospital_id, unit, rule, severity
ORDER BY alerts DESC, hospital_id, unit, rule, severity
