-- title: Top 10 longest stays (discharged today)
-- source: SOURCE_SYSTEMS A report 13; dashboard Longest Stay
-- chart: label=hospital_id,patient_id value=length_of_stay_days
SELECT patient_id, hospital_id, reason_for_visit, length_of_stay_days
FROM encounters
WHERE dt = '${day}' AND event = 'discharge'
ORDER BY length_of_stay_days DESC, patient_id
LIMIT 10
