MODEL (
  name marts.production_summary,
  kind FULL,
  grain (month_start, provider_id, clinic_id),
  audits (
    unique_combination_of_columns(columns := (month_start, provider_id, clinic_id)),
    not_null(columns := (month_start, provider_id, clinic_id))
  ),
  description 'Production & Income by month, provider and clinic (the monthly roll-up of production_income_daily, same definitions), with procedure and patient counts.'
);

WITH money AS (
  SELECT
    CAST(DATE_TRUNC('month', date_day) AS DATE) AS month_start, provider_id, clinic_id,
    SUM(gross_production) AS gross_production,
    SUM(capitation_writeoffs) AS capitation_writeoffs,
    SUM(adjustments) AS adjustments,
    SUM(insurance_writeoffs) AS insurance_writeoffs,
    SUM(net_production) AS net_production,
    SUM(patient_income) AS patient_income,
    SUM(unearned_income) AS unearned_income,
    SUM(insurance_income) AS insurance_income,
    SUM(total_income) AS total_income
  FROM marts.production_income_daily
  GROUP BY 1, 2, 3
), work AS (
  SELECT
    CAST(DATE_TRUNC('month', proc_date) AS DATE) AS month_start, provider_id, clinic_id,
    COUNT(*) AS procedures_completed,
    COUNT(DISTINCT patient_id) AS patients_seen
  FROM intermediate.int_procedures
  WHERE is_complete AND NOT is_broken_appointment_charge
  GROUP BY 1, 2, 3
)
SELECT
  m.month_start, -- first day of the month
  m.provider_id, -- the provider
  m.clinic_id, -- the clinic
  m.gross_production, -- Gross production of the month (see production_income_daily)
  m.capitation_writeoffs, -- Capitation write-offs of the month
  m.adjustments, -- Adjustments of the month
  m.insurance_writeoffs, -- Insurance write-offs of the month (insurance-payment-date rule)
  m.net_production, -- Net production of the month
  m.patient_income, -- Patient income of the month
  m.unearned_income, -- Unearned income (prepayments) of the month
  m.insurance_income, -- Insurance income of the month (by check date)
  m.total_income, -- Total income (collections) of the month
  CAST(m.total_income AS DOUBLE) / NULLIF(m.net_production, 0) AS collection_rate, -- Collection rate: total income / net production of the same month (NULL when no net production)
  COALESCE(w.procedures_completed, 0) AS procedures_completed, -- completed procedures, D9986/D9987 charges excluded
  COALESCE(w.patients_seen, 0) AS patients_seen -- distinct patients with a completed procedure in the month (for this provider and clinic)
FROM money AS m
LEFT JOIN work AS w
  ON w.month_start = m.month_start AND w.provider_id = m.provider_id AND w.clinic_id = m.clinic_id
