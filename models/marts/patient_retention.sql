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
    /* integers: PostgreSQL's EXTRACT gives numeric, which its hash aggregate spilled to disk in
       hundreds of thousands of batches (seven minutes for half a million rows) */
    CAST(EXTRACT(YEAR FROM p.proc_date) AS INT) * 12 + CAST(EXTRACT(MONTH FROM p.proc_date) AS INT) AS month_index
  FROM intermediate.int_procedures AS p
  JOIN marts.dim_patient AS d
    ON d.patient_id = p.patient_id AND d.pat_status <> 4
  WHERE p.is_complete AND NOT p.is_broken_appointment_charge AND p.proc_date IS NOT NULL
), months AS (
  SELECT DISTINCT month_start, CAST(year AS INT) * 12 + CAST(month AS INT) AS month_index
  FROM marts.dim_date
  WHERE is_past AND month_start >= (SELECT CAST(DATE_TRUNC('month', MIN(first_visit_date)) AS DATE) FROM marts.dim_patient)
), new_patients AS (
  SELECT
    CAST(EXTRACT(YEAR FROM first_visit_date) AS INT) * 12 + CAST(EXTRACT(MONTH FROM first_visit_date) AS INT) AS month_index,
    COUNT(*) AS new_patients
  FROM marts.dim_patient
  WHERE first_visit_date IS NOT NULL AND pat_status <> 4
  GROUP BY 1
), visits AS (
  SELECT
    patient_id,
    month_index,
    LEAD(month_index) OVER (PARTITION BY patient_id ORDER BY month_index) AS next_index
  FROM seen
), active AS (
  SELECT month_index, COUNT(*) AS active_patients
  FROM seen
  GROUP BY 1
), ends AS (
  /* a visit keeps its patient in a `width`-month window from its month until the patient's next
     visit takes over: one patient's spans never overlap, so a window's count in a month is the
     number of spans that cover it, a running sum of starts and ends (not a join of every month
     with every visit of the last two years: 9 million rows at 18 million source rows). Every
     window's spans start at the visits (`active`); here, the month after each one ends. */
  SELECT
    w.width,
    COALESCE(LEAST(v.month_index + w.width, v.next_index), v.month_index + w.width) AS month_index,
    COUNT(*) AS ended
  FROM visits AS v
  CROSS JOIN (VALUES (12), (18), (24)) AS w(width)
  GROUP BY 1, 2
), changes AS (
  SELECT w.width, a.month_index, a.active_patients AS delta
  FROM active AS a
  CROSS JOIN (VALUES (12), (18), (24)) AS w(width)
  UNION ALL
  SELECT width, month_index, -ended FROM ends
), windows AS (
  SELECT
    m.month_index,
    SUM(CASE WHEN c.width = 12 THEN c.delta ELSE 0 END) AS seen_last_12_months,
    SUM(CASE WHEN c.width = 18 THEN c.delta ELSE 0 END) AS seen_last_18_months,
    SUM(CASE WHEN c.width = 24 THEN c.delta ELSE 0 END) AS seen_last_24_months,
    /* patients seen in months 13-24 back: the 12-month window as it stood 12 months ago */
    SUM(CASE WHEN c.width = 12 AND c.month_index <= m.month_index - 12 THEN c.delta ELSE 0 END) AS seen_prior_12_months
  FROM months AS m
  JOIN changes AS c
    ON c.month_index <= m.month_index
  GROUP BY 1
), counted AS (
  SELECT
    m.month_index,
    m.month_start,
    CAST(COALESCE(a.active_patients, 0) AS BIGINT) AS active_patients,
    CAST(COALESCE(w.seen_last_12_months, 0) AS BIGINT) AS seen_last_12_months,
    CAST(COALESCE(w.seen_last_18_months, 0) AS BIGINT) AS seen_last_18_months,
    CAST(COALESCE(w.seen_prior_12_months, 0) AS BIGINT) AS seen_prior_12_months,
    /* seen in both 12-month windows = seen in either (the last 24 months) counted out of the two */
    CAST(COALESCE(w.seen_last_12_months + w.seen_prior_12_months - w.seen_last_24_months, 0) AS BIGINT) AS retained_patients
  FROM months AS m
  LEFT JOIN windows AS w ON w.month_index = m.month_index
  LEFT JOIN active AS a ON a.month_index = m.month_index
)
SELECT
  c.month_start, -- first day of the month
  CAST(COALESCE(n.new_patients, 0) AS BIGINT) AS new_patients, -- New patients: patients whose first completed procedure (D9986/D9987 excluded) is in the month
  c.active_patients, -- Active patients: distinct patients with a completed procedure in the month (all statuses but Deleted)
  c.seen_last_12_months, -- distinct patients seen in the 12 months ending with this month
  c.seen_last_18_months, -- Active patient base: distinct patients seen in the 18 months ending with this month
  c.seen_prior_12_months, -- distinct patients seen in the 12 months before those (months 13-24 back)
  c.retained_patients, -- patients seen in the prior 12 months who were seen again in the last 12 months
  CAST(c.retained_patients AS DOUBLE) / NULLIF(c.seen_prior_12_months, 0) AS retention_rate -- Patient retention: retained patients / patients seen in the prior 12 months
FROM counted AS c
LEFT JOIN new_patients AS n ON n.month_index = c.month_index
