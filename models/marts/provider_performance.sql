MODEL (
  name marts.provider_performance,
  kind FULL,
  grain (month_start, provider_id),
  audits (
    unique_combination_of_columns(columns := (month_start, provider_id)),
    not_null(columns := (month_start, provider_id))
  ),
  description 'Each provider''s month: production, collections, patients, appointments, breaks, scheduled hours to the run date and production per scheduled hour.'
);

WITH money AS (
  SELECT month_start, provider_id,
    SUM(gross_production) AS gross_production, SUM(net_production) AS net_production,
    SUM(total_income) AS collections, SUM(procedures_completed) AS procedures_completed
  FROM marts.production_summary
  GROUP BY 1, 2
), patients AS (
  SELECT CAST(DATE_TRUNC('month', proc_date) AS DATE) AS month_start, provider_id, COUNT(DISTINCT patient_id) AS patients_seen
  FROM intermediate.int_procedures
  WHERE is_complete AND NOT is_broken_appointment_charge
  GROUP BY 1, 2
), visits AS (
  /* an appointment counts for its dentist, and for its hygienist when it has one */
  SELECT month_start, provider_id,
    SUM(completed) AS appointments_completed, SUM(broken) AS appointments_broken
  FROM (
    SELECT CAST(DATE_TRUNC('month', apt_date) AS DATE) AS month_start, CASE WHEN is_hygiene AND hygienist_id <> 0 THEN hygienist_id ELSE provider_id END AS provider_id,
      CASE WHEN apt_status = 2 THEN 1 ELSE 0 END AS completed, 0 AS broken
    FROM intermediate.int_appointments
    WHERE apt_date IS NOT NULL
    UNION ALL
    SELECT CAST(DATE_TRUNC('month', broken_date) AS DATE), CASE WHEN is_hygiene AND hygienist_id <> 0 THEN hygienist_id ELSE provider_id END,
      0, 1
    FROM intermediate.int_appointments
    WHERE was_broken AND broken_date IS NOT NULL
  ) AS v
  GROUP BY 1, 2
), hours AS (
  /* provider schedule blocks (SchedType 1 Provider) up to the run date */
  SELECT CAST(DATE_TRUNC('month', sched_date) AS DATE) AS month_start, provider_id,
    SUM(EXTRACT(EPOCH FROM (stop_time - start_time))) / 3600.0 AS scheduled_hours
  FROM staging.stg_schedule
  WHERE sched_type = 1 AND provider_id <> 0 AND sched_date IS NOT NULL AND stop_time > start_time
    AND sched_date <= CAST(@execution_ds AS DATE) -- hours worked so far: the book runs months ahead
  GROUP BY 1, 2
), keys AS (
  SELECT month_start, provider_id FROM money
  UNION SELECT month_start, provider_id FROM visits
  UNION SELECT month_start, provider_id FROM hours
)
SELECT
  k.month_start, -- first day of the month
  k.provider_id, -- the provider
  COALESCE(m.gross_production, 0) AS gross_production, -- Gross production credited to the provider
  COALESCE(m.net_production, 0) AS net_production, -- Net production credited to the provider
  COALESCE(m.collections, 0) AS collections, -- Total income (patient + insurance) credited to the provider
  COALESCE(m.procedures_completed, 0) AS procedures_completed, -- completed procedures (D9986/D9987 excluded)
  COALESCE(p.patients_seen, 0) AS patients_seen, -- distinct patients with a completed procedure by this provider
  COALESCE(v.appointments_completed, 0) AS appointments_completed, -- completed appointments (the hygienist's for hygiene appointments, else the dentist's)
  COALESCE(v.appointments_broken, 0) AS appointments_broken, -- appointments broken in the month
  COALESCE(h.scheduled_hours, 0) AS scheduled_hours, -- hours on the provider's schedule (schedule rows of type Provider) up to the run date
  CAST(COALESCE(m.gross_production, 0) AS DOUBLE) / NULLIF(h.scheduled_hours, 0) AS production_per_scheduled_hour -- Production per scheduled hour: gross production / scheduled hours (NULL without schedule)
FROM keys AS k
LEFT JOIN money AS m ON m.month_start = k.month_start AND m.provider_id = k.provider_id
LEFT JOIN patients AS p ON p.month_start = k.month_start AND p.provider_id = k.provider_id
LEFT JOIN visits AS v ON v.month_start = k.month_start AND v.provider_id = k.provider_id
LEFT JOIN hours AS h ON h.month_start = k.month_start AND h.provider_id = k.provider_id
