MODEL (
  name marts.recall_status,
  kind FULL,
  grain patient_id,
  audits (
    primary_key(column := patient_id),
    accepted_values(column := recall_state, is_in := ('scheduled', 'current', 'overdue', 'disabled', 'no due date', 'not on recall'))
  ),
  description 'Hygiene recall state of every patient with status Patient, as of the run date. Recall current % = (scheduled + current) / patients; overdue % = overdue / patients; not on recall % = not on recall / patients (count over the active ones, is_active, for the usual industry figure).'
);

WITH hygiene_recall AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY patient_id ORDER BY is_disabled, date_due NULLS LAST, recall_id) AS pick
  FROM intermediate.int_recall
  WHERE is_hygiene_recall
)
SELECT
  p.patient_id, -- the patient (PatStatus Patient only)
  p.clinic_id, -- the patient's clinic
  p.last_visit_date, -- last completed procedure
  COALESCE(p.last_visit_date >= CAST(CAST(@execution_ds AS DATE) - INTERVAL '18 months' AS DATE), FALSE) AS is_active, -- seen in the 18 months before the run date
  r.recall_type, -- Prophy, Perio ... (the hygiene recall; the earliest due when several)
  r.interval_years, -- recall interval: years
  r.interval_months, -- recall interval: months
  r.interval_weeks, -- recall interval: weeks
  r.interval_days, -- recall interval: days
  r.date_previous, -- last recall done
  r.date_due, -- recall due date
  r.date_scheduled, -- date of the scheduled recall appointment
  COALESCE(r.recall_state, 'not on recall') AS recall_state, -- Recall state: scheduled, current (not yet due), overdue (due date passed, nothing scheduled), disabled, no due date, or not on recall (no hygiene recall row)
  CASE WHEN r.recall_state = 'overdue' THEN DATE_DIFF('day', r.date_due, CAST(@execution_ds AS DATE)) END AS days_overdue -- days past the due date, for overdue recalls
FROM marts.dim_patient AS p
LEFT JOIN hygiene_recall AS r
  ON r.patient_id = p.patient_id AND r.pick = 1
WHERE p.pat_status = 0
