MODEL (
  name marts.production_income_daily,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key (date_day, provider_id, clinic_id)),
  grain (date_day, provider_id, clinic_id),
  audits (
    unique_key(columns := (date_day, provider_id, clinic_id)),
    not_null(columns := (date_day, provider_id, clinic_id)),
    production_reconciles_with_procedures()
  ),
  description 'Production & Income by day, provider and clinic, as OpenDental''s Production & Income report computes them. Write-offs use the insurance-payment-date rule (claimproc DateCP of Received/Supplemental lines), which is also the date they leave the family balance. Incremental: recomputes the days, providers and clinics a row written since counts in, and those a changed or deleted row counted in before (logged by its intermediate model before the run rewrote it).'
);

WITH touched AS (
  /* the groups to recompute: those the rows written since count in ... */
  SELECT proc_date AS date_day, provider_id, clinic_id FROM intermediate.int_procedures WHERE is_complete AND @changed_since_last_run(_changed_run)
  UNION
  SELECT date_cp, provider_id, clinic_id FROM intermediate.int_claimprocs WHERE status = 7 AND @changed_since_last_run(_changed_run)
  UNION
  SELECT writeoff_payment_date, provider_id, clinic_id FROM intermediate.int_claimprocs WHERE @changed_since_last_run(_changed_run)
  UNION
  SELECT insurance_income_date, provider_id, clinic_id FROM intermediate.int_claimprocs WHERE @changed_since_last_run(_changed_run)
  UNION
  SELECT adj_date, provider_id, clinic_id FROM intermediate.int_adjustments WHERE @changed_since_last_run(_changed_run)
  UNION
  SELECT date_pay, provider_id, clinic_id FROM intermediate.int_payments WHERE @changed_since_last_run(_changed_run)
  UNION
  /* ... and those the rows rewritten or deleted counted in before (`@remember_groups`) */
  SELECT day, provider_id, clinic_id FROM (@remembered_groups('production')) AS g
), parts AS (
  /* each input's rows of the groups to recompute, picked within each branch (the index on its
     day, provider and clinic finds them on PostgreSQL, where a filter over the union scanned
     every row of all four models) */
  SELECT proc_date AS date_day, provider_id, clinic_id,
    production_amount AS gross_production, 0.0 AS capitation_writeoffs, 0.0 AS adjustments, 0.0 AS insurance_writeoffs,
    0.0 AS patient_income, 0.0 AS unearned_income, 0.0 AS insurance_income, _changed_run
  FROM intermediate.int_procedures AS p
  WHERE is_complete AND @in_touched_group(p.proc_date, p.provider_id, p.clinic_id)
  UNION ALL
  SELECT date_cp, provider_id, clinic_id, 0.0, capitation_writeoff, 0.0, 0.0, 0.0, 0.0, 0.0, _changed_run
  FROM intermediate.int_claimprocs AS c
  WHERE status = 7 AND @in_touched_group(c.date_cp, c.provider_id, c.clinic_id)
  UNION ALL
  SELECT adj_date, provider_id, clinic_id, 0.0, 0.0, adj_amt, 0.0, 0.0, 0.0, 0.0, _changed_run
  FROM intermediate.int_adjustments AS a
  WHERE @in_touched_group(a.adj_date, a.provider_id, a.clinic_id)
  UNION ALL
  SELECT writeoff_payment_date, provider_id, clinic_id, 0.0, 0.0, 0.0, writeoff_by_payment_date, 0.0, 0.0, 0.0, _changed_run
  FROM intermediate.int_claimprocs AS c
  WHERE status IN (1, 4) AND @in_touched_group(c.writeoff_payment_date, c.provider_id, c.clinic_id)
  UNION ALL
  SELECT date_pay, provider_id, clinic_id, 0.0, 0.0, 0.0, 0.0, patient_income, unearned_income, 0.0, _changed_run
  FROM intermediate.int_payments AS s
  WHERE @in_touched_group(s.date_pay, s.provider_id, s.clinic_id)
  UNION ALL
  SELECT insurance_income_date, provider_id, clinic_id, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, insurance_income, _changed_run
  FROM intermediate.int_claimprocs AS c
  WHERE insurance_income_date IS NOT NULL AND @in_touched_group(c.insurance_income_date, c.provider_id, c.clinic_id)
), grouped AS (
  SELECT
    date_day,
    provider_id,
    clinic_id,
    SUM(gross_production) AS gross_production,
    SUM(capitation_writeoffs) AS capitation_writeoffs,
    SUM(adjustments) AS adjustments,
    SUM(insurance_writeoffs) AS insurance_writeoffs,
    SUM(patient_income) AS patient_income,
    SUM(unearned_income) AS unearned_income,
    SUM(insurance_income) AS insurance_income,
    MAX(_changed_run) AS _changed_run,
    COUNT(*) AS _rows
  FROM parts AS p
  WHERE date_day IS NOT NULL
  GROUP BY 1, 2, 3
), recomputed AS (
  SELECT * FROM grouped
  UNION ALL
  /* a group recomputed with every row deleted or moved away: a row to merge (`_rows` 0), deleted after */
  SELECT t.date_day, t.provider_id, t.clinic_id, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, NULL, 0
  FROM touched AS t
  WHERE
    NOT @when_incremental(FALSE)
    AND t.date_day IS NOT NULL
    AND NOT EXISTS (
      SELECT 1 FROM grouped AS g
      WHERE t.date_day = g.date_day AND t.provider_id = g.provider_id AND t.clinic_id = g.clinic_id
    )
)
SELECT
  date_day, -- the day
  provider_id, -- the provider credited (0 = unassigned)
  clinic_id, -- the clinic (0 = no clinic)
  gross_production, -- Gross production: completed procedures (ProcStatus 2) by ProcDate, ProcFee x (UnitQty + BaseUnits); deleted procedures (status 6) never count
  capitation_writeoffs, -- Capitation write-offs: WriteOff of CapComplete claim lines (status 7) by DateCP, taken off production as OpenDental does
  adjustments, -- Adjustments: AdjAmt by AdjDate, positive and negative
  insurance_writeoffs, -- Insurance write-offs: WriteOff of Received/Supplemental claim lines (status 1/4) by DateCP (insurance-payment-date rule)
  gross_production - capitation_writeoffs + adjustments - insurance_writeoffs AS net_production, -- Net production: gross production - capitation write-offs + adjustments - insurance write-offs
  patient_income, -- Patient income: earned pay splits (UnearnedType 0) by DatePay; income transfers net to zero
  unearned_income, -- Unearned income: prepayment splits (UnearnedType set) by DatePay, reported apart and not in total income
  insurance_income, -- Insurance income: InsPayAmt of Received/Supplemental claim lines attached to an insurance check, by the check date (claimpayment.CheckDate)
  patient_income + insurance_income AS total_income, -- Total income (collections): patient income + insurance income (unearned income excluded)
  _changed_run, -- the newest sync run among the group's rows: what the next run compares with
  _rows -- the rows summed: 0 for a group recomputed with none left, which the post-statement deletes
FROM recomputed;

@delete_emptied_groups();

@key_index(date_day, provider_id, clinic_id);
