MODEL (
  name marts.revenue_lost,
  kind FULL,
  grain (month_start, category),
  audits (
    unique_combination_of_columns(columns := (month_start, category)),
    not_null(columns := (month_start, category)),
    accepted_values(column := category, is_in := ('missed_appointments', 'unpaid_claims', 'unscheduled_treatment', 'write_offs'))
  ),
  description 'Revenue the practice did not collect, by month and category. missed_appointments: scheduled production of appointments broken and never put back on the schedule, by break date. unpaid_claims: insurance estimates of claims sent more than 30 days before the run date and still not received, by date of service. unscheduled_treatment: planned (TP) procedures not on a scheduled appointment, by the date they were planned (those left on a broken appointment count as missed_appointments, not twice). write_offs: insurance write-offs by insurance payment date.'
);

WITH items AS (
  SELECT CAST(DATE_TRUNC('month', broken_date) AS DATE) AS month_start, 'missed_appointments' AS category,
    scheduled_production AS amount
  FROM intermediate.int_appointments
  WHERE was_broken AND NOT was_rescheduled AND broken_date IS NOT NULL
  UNION ALL
  SELECT CAST(DATE_TRUNC('month', f.date_service) AS DATE), 'unpaid_claims', f.ins_pay_est
  FROM marts.fact_claim AS f
  WHERE f.claim_status = 'S' AND f.claim_type <> 'PreAuth' AND f.days_outstanding > 30 AND f.date_service IS NOT NULL
  UNION ALL
  SELECT CAST(DATE_TRUNC('month', date_tp) AS DATE), 'unscheduled_treatment', diagnosed_amount
  FROM intermediate.int_treatment_plans
  WHERE is_unscheduled AND NOT is_on_broken_appointment -- those are in missed_appointments already
  UNION ALL
  SELECT CAST(DATE_TRUNC('month', writeoff_payment_date) AS DATE), 'write_offs', writeoff_by_payment_date
  FROM intermediate.int_claimprocs
  WHERE status IN (1, 4) AND writeoff_payment_date IS NOT NULL AND writeoff_by_payment_date <> 0
)
SELECT
  month_start, -- first day of the month the loss is dated in
  category, -- missed_appointments, unpaid_claims, unscheduled_treatment or write_offs (see the model description)
  SUM(amount) AS amount, -- Revenue lost: the amount of the category in the month
  COUNT(*) AS item_count -- appointments, claims, procedures or claim lines behind the amount
FROM items
GROUP BY 1, 2
