MODEL (
  name marts.daily_payments,
  kind FULL,
  grain (payment_date, payer, payment_type),
  audits (
    unique_combination_of_columns(columns := (payment_date, payer, payment_type)),
    not_null(columns := (payment_date, payer, payment_type))
  ),
  description 'Daily payments by payer (patient, insurance) and payment type: the deposit-slip view. Income transfers are left out (they move money, they do not bring it in); prepayments are shown apart.'
);

SELECT
  payment_date, -- the day (DatePay; the check date for insurance)
  payer, -- patient or insurance
  COALESCE(payment_type, 'Unknown') AS payment_type, -- Check, Cash, Credit Card ... (definition categories PaymentTypes / InsurancePaymentType)
  COUNT(DISTINCT payment_id) AS payment_count, -- distinct payments (patient payments or insurance checks)
  SUM(CASE WHEN NOT is_unearned THEN amount ELSE 0 END) AS amount, -- Payments received: earned patient pay splits and insurance paid on checks
  SUM(CASE WHEN is_unearned THEN amount ELSE 0 END) AS prepayments -- Prepayments received: unearned pay splits
FROM marts.fact_payment
WHERE NOT is_income_transfer
GROUP BY 1, 2, 3
