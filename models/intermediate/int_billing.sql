MODEL (
  name intermediate.int_billing,
  kind FULL,
  grain statement_id,
  audits (primary_key(column := statement_id)),
  description 'Billing statements sent to families, with what the family paid in the 30 days after (collections follow-up).'
);

WITH sent AS (
  SELECT
    s.statement_id,
    s.patient_id,
    COALESCE(NULLIF(p.guarantor_id, 0), s.patient_id) AS guarantor_id,
    s.date_sent,
    s.mode_label,
    s.is_sent,
    s.is_receipt,
    s.is_invoice,
    s.bal_total,
    s.ins_est
  FROM staging.stg_statement AS s
  LEFT JOIN staging.stg_patient AS p
    ON p.patient_id = s.patient_id
)
SELECT
  s.statement_id, -- statement.StatementNum
  s.guarantor_id, -- the family billed
  s.date_sent, -- the date on the statement
  s.mode_label AS delivery_mode, -- Mail, InPerson, Email, Electronic
  s.is_sent, -- marked sent
  s.is_receipt OR s.is_invoice AS is_receipt_or_invoice, -- a receipt or invoice rather than a billing statement
  s.bal_total AS balance_billed, -- the family balance printed on the statement
  s.ins_est AS insurance_pending, -- pending insurance printed on the statement
  COALESCE(SUM(pay.patient_income), 0) AS paid_within_30_days -- earned patient payments by the family dated within 30 days after the statement
FROM sent AS s
LEFT JOIN intermediate.int_payments AS pay
  ON pay.guarantor_id = s.guarantor_id
  AND pay.date_pay > s.date_sent
  AND pay.date_pay <= s.date_sent + 30
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
