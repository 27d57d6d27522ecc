MODEL (
  name intermediate.int_recall,
  kind FULL,
  grain recall_id,
  audits (
    primary_key(column := recall_id),
    accepted_values(column := recall_state, is_in := ('disabled', 'scheduled', 'current', 'overdue', 'no due date'))
  ),
  description 'Recall (continuing care) rows with the packed RecallInterval decoded and the state as of the run date.'
);

WITH run_date AS (
  SELECT CAST(@execution_ds AS DATE) AS today
)
SELECT
  r.recall_id, -- recall.RecallNum
  r.patient_id, -- the patient
  r.recall_type_id, -- recalltype.RecallTypeNum
  t.description AS recall_type, -- e.g. Prophy, Perio, 4BWX
  COALESCE(t.procedures LIKE '%D1110%' OR t.procedures LIKE '%D1120%' OR t.procedures LIKE '%D4910%', FALSE) AS is_hygiene_recall, -- the recall type schedules a prophylaxis (D1110/D1120) or perio maintenance (D4910)
  r.recall_interval, -- RecallInterval as stored: years << 24 | months << 16 | weeks << 8 | days
  (r.recall_interval >> 24) & 255 AS interval_years, -- bits 24-31
  (r.recall_interval >> 16) & 255 AS interval_months, -- bits 16-23
  (r.recall_interval >> 8) & 255 AS interval_weeks, -- bits 8-15
  r.recall_interval & 255 AS interval_days, -- bits 0-7
  ((r.recall_interval >> 24) & 255) * 12 + ((r.recall_interval >> 16) & 255) AS interval_total_months, -- years x 12 + months (weeks and days not included)
  r.date_previous, -- the last time the recall was done
  r.date_due, -- when the recall is due
  r.date_scheduled, -- the date of the scheduled recall appointment (NULL = not scheduled)
  r.is_disabled, -- the recall is turned off for this patient
  CASE
    WHEN r.is_disabled THEN 'disabled'
    WHEN r.date_scheduled IS NOT NULL AND r.date_scheduled >= d.today THEN 'scheduled'
    WHEN r.date_due IS NULL THEN 'no due date'
    WHEN r.date_due >= d.today THEN 'current'
    ELSE 'overdue'
  END AS recall_state -- as of the run date: disabled, scheduled (an appointment on or after today), current (due date not passed), overdue (due date passed, nothing scheduled), no due date
FROM staging.stg_recall AS r
LEFT JOIN staging.stg_recalltype AS t
  ON t.recall_type_id = r.recall_type_id
CROSS JOIN run_date AS d
