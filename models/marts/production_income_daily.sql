MODEL (
  name marts.production_income_daily,
  kind FULL,
  grain (date_day, provider_id, clinic_id),
  audits (
    unique_combination_of_columns(columns := (date_day, provider_id, clinic_id)),
    not_null(columns := (date_day, provider_id, clinic_id)),
    production_reconciles_with_procedures()
  ),
  description 'Production & Income by day, provider and clinic, as OpenDental''s Production & Income report computes them. Write-offs use the insurance-payment-date rule (claimproc DateCP of Received/Supplemental lines), which is also the date they leave the family balance.'
);

WITH parts AS (
  SELECT proc_date AS date_day, provider_id, clinic_id,
    production_amount AS gross_production, 0.0 AS capitation_writeoffs, 0.0 AS adjustments, 0.0 AS insurance_writeoffs,
    0.0 AS patient_income, 0.0 AS unearned_income, 0.0 AS insurance_income
  FROM intermediate.int_procedures
  WHERE is_complete
  UNION ALL
  SELECT date_cp, provider_id, clinic_id, 0.0, capitation_writeoff, 0.0, 0.0, 0.0, 0.0, 0.0
  FROM intermediate.int_claimprocs
  WHERE status = 7
  UNION ALL
  SELECT adj_date, provider_id, clinic_id, 0.0, 0.0, adj_amt, 0.0, 0.0, 0.0, 0.0
  FROM intermediate.int_adjustments
  UNION ALL
  SELECT writeoff_payment_date, provider_id, clinic_id, 0.0, 0.0, 0.0, writeoff_by_payment_date, 0.0, 0.0, 0.0
  FROM intermediate.int_claimprocs
  WHERE status IN (1, 4)
  UNION ALL
  SELECT date_pay, provider_id, clinic_id, 0.0, 0.0, 0.0, 0.0, patient_income, unearned_income, 0.0
  FROM intermediate.int_payments
  UNION ALL
  SELECT insurance_income_date, provider_id, clinic_id, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, insurance_income
  FROM intermediate.int_claimprocs
  WHERE insurance_income_date IS NOT NULL
)
SELECT
  date_day, -- the day
  provider_id, -- the provider credited (0 = unassigned)
  clinic_id, -- the clinic (0 = no clinic)
  SUM(gross_production) AS gross_production, -- Gross production: completed procedures (ProcStatus 2) by ProcDate, ProcFee x (UnitQty + BaseUnits); deleted procedures (status 6) never count
  SUM(capitation_writeoffs) AS capitation_writeoffs, -- Capitation write-offs: WriteOff of CapComplete claim lines (status 7) by DateCP, taken off production as OpenDental does
  SUM(adjustments) AS adjustments, -- Adjustments: AdjAmt by AdjDate, positive and negative
  SUM(insurance_writeoffs) AS insurance_writeoffs, -- Insurance write-offs: WriteOff of Received/Supplemental claim lines (status 1/4) by DateCP (insurance-payment-date rule)
  SUM(gross_production) - SUM(capitation_writeoffs) + SUM(adjustments) - SUM(insurance_writeoffs) AS net_production, -- Net production: gross production - capitation write-offs + adjustments - insurance write-offs
  SUM(patient_income) AS patient_income, -- Patient income: earned pay splits (UnearnedType 0) by DatePay; income transfers net to zero
  SUM(unearned_income) AS unearned_income, -- Unearned income: prepayment splits (UnearnedType set) by DatePay, reported apart and not in total income
  SUM(insurance_income) AS insurance_income, -- Insurance income: InsPayAmt of Received/Supplemental claim lines attached to an insurance check, by the check date (claimpayment.CheckDate)
  SUM(patient_income) + SUM(insurance_income) AS total_income -- Total income (collections): patient income + insurance income (unearned income excluded)
FROM parts
WHERE date_day IS NOT NULL
GROUP BY 1, 2, 3
