MODEL (
  name marts.patient_retention,
  kind FULL,
  grain month_start,
  audits (primary_key(column := month_start)),
  description 'New, active and retained patients by month. A patient is seen in a month when they have a completed procedure (D9986/D9987 charges excluded) dated in it; every patient status counts except Deleted (OpenDental''s default for its active-patients report).'
);

WITH seen AS (
  SELECT DISTINCT
    p.patient_id,
    EXTRACT(YEAR FROM p.proc_date) * 12 + EXTRACT(MONTH FROM p.proc_date) AS month_index
  FROM intermediate.int_procedures AS p
  JOIN marts.dim_patient AS d
    ON d.patient_id = p.patient_id AND d.pat_status <> 4
  WHERE p.is_complete AND NOT p.is_broken_appointment_charge AND p.proc_date IS NOT NULL
), months AS (
  SELECT DISTINCT month_start, year * 12 + month AS month_index
  FROM marts.dim_date
  WHERE is_past AND month_start >= (SELECT CAST(DATE_TRUNC('month', MIN(first_visit_date)) AS DATE) FROM marts.dim_patient)
), new_patients AS (
  SELECT EXTRACT(YEAR FROM first_visit_date) * 12 + EXTRACT(MONTH FROM first_visit_date) AS month_index, COUNT(*) AS new_patients
  FROM marts.dim_patient
  WHERE first_visit_date IS NOT NULL AND pat_status <> 4
  GROUP BY 1
), per_patient AS (
  /* each patient's presence in the windows that end at each month */
  SELECT
    m.month_index,
    s.patient_id,
    MAX(CASE WHEN s.month_index = m.month_index THEN 1 ELSE 0 END) AS in_month,
    MAX(CASE WHEN s.month_index > m.month_index - 12 THEN 1 ELSE 0 END) AS in_last_12,
    MAX(CASE WHEN s.month_index > m.month_index - 18 THEN 1 ELSE 0 END) AS in_last_18,
    MAX(CASE WHEN s.month_index <= m.month_index - 12 THEN 1 ELSE 0 END) AS in_prior_12
  FROM months AS m
  JOIN seen AS s
    ON s.month_index > m.month_index - 24 AND s.month_index <= m.month_index
  GROUP BY 1, 2
), windows AS (
  SELECT
    month_index,
    SUM(in_month) AS active_patients,
    SUM(in_last_12) AS seen_last_12_months,
    SUM(in_last_18) AS seen_last_18_months,
    SUM(in_prior_12) AS seen_prior_12_months,
    SUM(in_last_12 * in_prior_12) AS retained_patients
  FROM per_patient
  GROUP BY 1
)
SELECT
  m.month_start, -- first day of the month
  COALESCE(n.new_patients, 0) AS new_patients, -- New patients: patients whose first completed procedure (D9986/D9987 excluded) is in the month
  COALESCE(w.active_patients, 0) AS active_patients, -- Active patients: distinct patients with a completed procedure in the month (all statuses but Deleted)
  COALESCE(w.seen_last_12_months, 0) AS seen_last_12_months, -- distinct patients seen in the 12 months ending with this month
  COALESCE(w.seen_last_18_months, 0) AS seen_last_18_months, -- Active patient base: distinct patients seen in the 18 months ending with this month
  COALESCE(w.seen_prior_12_months, 0) AS seen_prior_12_months, -- distinct patients seen in the 12 months before those (months 13-24 back)
  COALESCE(w.retained_patients, 0) AS retained_patients, -- patients seen in the prior 12 months who were seen again in the last 12 months
  CAST(w.retained_patients AS DOUBLE) / NULLIF(w.seen_prior_12_months, 0) AS retention_rate -- Patient retention: retained patients / patients seen in the prior 12 months
FROM months AS m
LEFT JOIN windows AS w ON w.month_index = m.month_index
LEFT JOIN new_patients AS n ON n.month_index = m.month_index
