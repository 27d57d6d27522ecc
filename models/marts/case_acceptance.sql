MODEL (
  name marts.case_acceptance,
  kind FULL,
  grain (month_start, provider_id),
  audits (
    unique_combination_of_columns(columns := (month_start, provider_id)),
    not_null(columns := (month_start, provider_id))
  ),
  description 'Treatment (case) acceptance by the month the treatment was planned and the provider: diagnosed dollars against dollars the patients accepted (scheduled or completed).'
);

SELECT
  CAST(DATE_TRUNC('month', date_tp) AS DATE) AS month_start, -- first day of the month the treatment was planned (DateTP)
  provider_id, -- the provider on the procedure
  COUNT(*) AS procedures_diagnosed, -- procedures treatment planned in the month (still planned, inactive or since completed)
  COUNT(DISTINCT patient_id) AS patients_diagnosed, -- distinct patients with treatment planned in the month
  SUM(diagnosed_amount) AS diagnosed_amount, -- Diagnosed: fee x units of the treatment planned in the month
  SUM(CASE WHEN is_accepted THEN 1 ELSE 0 END) AS procedures_accepted, -- of those, procedures scheduled or completed
  SUM(accepted_amount) AS accepted_amount, -- Accepted: fee x units of the diagnosed procedures now scheduled or completed
  CAST(SUM(accepted_amount) AS DOUBLE) / NULLIF(SUM(diagnosed_amount), 0) AS acceptance_rate -- Case acceptance: accepted / diagnosed dollars
FROM intermediate.int_treatment_plans
GROUP BY 1, 2
