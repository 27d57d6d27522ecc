MODEL (
  name marts.ar_aging,
  kind VIEW,
  grain (guarantor_id, as_of_date),
  audits (
    unique_combination_of_columns(columns := (guarantor_id, as_of_date)),
    not_null(columns := (guarantor_id, as_of_date)),
    aging_buckets_sum_to_balance()
  ),
  description 'Aging of A/R by family as of every month end and the run date (OpenDental''s Aging of A/R with default options: per family, credits applied to the oldest charges first, insurance estimates shown apart). Filter on the guarantor''s status to exclude inactive or archived families; on bal_total > 0 to hide credit balances. For another date, sum fact_ledger. A view: int_ar_aging holds the rows, so runs never rebuild it.'
);

SELECT
  a.guarantor_id, -- the family (its guarantor's PatNum)
  a.as_of_date, -- aged as of this date (month ends, and the run date)
  a.is_current, -- TRUE for the run date
  g.first_name AS guarantor_first_name, -- the guarantor's first name
  g.last_name AS guarantor_last_name, -- the guarantor's last name
  g.pat_status_label AS guarantor_status, -- the guarantor's PatStatus (to exclude Inactive/Archived families)
  g.clinic_id, -- the guarantor's clinic
  g.billing_type, -- the guarantor's billing type
  a.bal_0_30, -- A/R 0-30 days: charges up to 30 days old, less credits left after the older buckets
  a.bal_31_60, -- A/R 31-60 days: charges 31-60 days old, less credits left after the older buckets
  a.bal_61_90, -- A/R 61-90 days: charges 61-90 days old, less credits left after the over-90 bucket
  a.bal_over_90, -- A/R over 90 days: charges more than 90 days old, less the family's credits (applied oldest first)
  a.bal_total, -- Family balance: charges - credits to the as-of date (= sum of the four buckets)
  a.ins_est, -- Insurance estimate: pending insurance (not-received claim lines) at the as-of date, shown beside the balance
  a.bal_total - a.ins_est AS patient_portion -- balance minus pending insurance: what the family is expected to owe
FROM intermediate.int_ar_aging AS a
LEFT JOIN marts.dim_patient AS g
  ON g.patient_id = a.guarantor_id
