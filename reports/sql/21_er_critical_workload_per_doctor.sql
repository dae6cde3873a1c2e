-- title: ER critical workload per doctor (triage 1-2), dense rank
-- source: SOURCE_SYSTEMS E: critical workload per doctor with dense rank
-- chart: label=doctor_id value=critical_patients
SELECT doctor_id, count(*) AS critical_patients,
       dense_rank() OVER (ORDER BY count(*) DESC) AS workload_rank
FROM encounters
WHERE dt = '${day}' AND event = 'er_triage' AND triage_level <= 2
GROUP BY doctor_id
ORDER BY workload_rank, doctor_id
