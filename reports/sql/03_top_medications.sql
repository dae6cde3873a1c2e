-- title: Top 10 medications administered
-- source: SOURCE_SYSTEMS A report 3
-- chart: label=medication value=patients
SELECT m.medication, count(*) AS patients
FROM encounters
CROSS JOIN UNNEST(medications) AS m (medication)
WHERE dt = '${day}' AND event = 'admission'
GROUP BY m.medication
ORDER BY patients DESC, m.medication
LIMIT 10
