MODEL (
  name intermediate.int_ledger,
  kind FULL,
  grain (entry_type, source_id),
  audits (
    unique_combination_of_columns(columns := (entry_type, source_id)),
    not_null(columns := (entry_type, source_id, guarantor_id)),
    accepted_values(column := entry_type, is_in := ('procedure', 'adjustment', 'patient_payment', 'insurance'))
  ),
  description 'The family ledger (docs/ledger_rules.md): every dated charge and credit that makes up a family balance. Charges: completed procedures (at least one unit) and positive adjustments. Credits: earned pay splits, received insurance (paid + write-off) and negative adjustments.'
);

SELECT
  'procedure' AS entry_type, -- procedure, adjustment, patient_payment or insurance
  procedure_id AS source_id, -- the key in the source table (ProcNum, AdjNum, SplitNum, ClaimProcNum)
  guarantor_id, -- the family
  patient_id, -- the patient
  provider_id, -- the provider
  clinic_id, -- the clinic
  proc_date AS entry_date, -- the date the entry counts on for aging
  ledger_amount AS amount, -- signed: positive raises the balance, negative lowers it
  ledger_amount AS charge_amount, -- the entry as a charge (0 for credits)
  0.0 AS credit_amount -- the entry as a credit (0 for charges); may be negative (a refund)
FROM intermediate.int_procedures
WHERE is_complete
UNION ALL
SELECT
  'adjustment', adjustment_id, guarantor_id, patient_id, provider_id, clinic_id, adj_date,
  adj_amt,
  CASE WHEN adj_amt > 0 THEN adj_amt ELSE 0.0 END,
  CASE WHEN adj_amt > 0 THEN 0.0 ELSE -adj_amt END
FROM intermediate.int_adjustments
UNION ALL
SELECT
  'patient_payment', split_id, guarantor_id, patient_id, provider_id, clinic_id, date_pay,
  -split_amt, 0.0, split_amt
FROM intermediate.int_payments
WHERE NOT is_unearned
UNION ALL
SELECT
  'insurance', claim_procedure_id, guarantor_id, patient_id, provider_id, clinic_id, date_cp,
  -ledger_credit, 0.0, ledger_credit
FROM intermediate.int_claimprocs
WHERE is_received
