-- title: Insurance provider by payment method
-- source: SOURCE_SYSTEMS A report 8; dashboard Financial Risk
-- chart: label=insurance_provider,payment_method value=amount
SELECT coalesce(insurance_provider, 'none') AS insurance_provider, payment_method, count(*) AS payments,
       round(sum(amount), 2) AS amount
FROM encounters
WHERE dt = '${day}' AND event = 'payment'
GROUP BY coalesce(insurance_provider, 'none'), payment_method
ORDER BY payments DESC, insurance_provider, payment_method
