MODEL (
  name intermediate.int_ledger,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key entry_id),
  grain entry_id,
  audits (
    primary_key(column := entry_id),
    not_null(columns := (entry_type, source_id, guarantor_id)),
    accepted_values(column := entry_type, is_in := ('procedure', 'adjustment', 'patient_payment', 'insurance'))
  ),
  description 'The family ledger (docs/ledger_rules.md): every dated entry that makes up a family balance: completed procedures (at least one unit), adjustments, earned pay splits and received insurance (paid + write-off). As in OpenDental''s aging query, an entry is a charge or a credit by its sign, so a refund (negative split) is a charge. Incremental: merges the entries whose inputs a newer sync run wrote, deletes the ones gone from their source model or no longer making an entry.'
);

/* before the merge and the deletes overwrite them: the family and date of the entries whose
   source row changed or is gone, for the aging to age those families again from there (macros/aging.py) */
@remember_families(
  m.guarantor_id,
  m.entry_date,
  m.entry_id IN (
    SELECT CAST(procedure_id * 4 AS BIGINT) FROM intermediate.int_procedures WHERE @changed_since_last_run(_changed_run)
    UNION ALL
    /* a procedure marked deleted (status 6) has left int_procedures: its own row says it changed */
    SELECT CAST(procedure_id * 4 AS BIGINT) FROM staging.stg_procedurelog WHERE @changed_since_last_run(_sync_run_id)
    UNION ALL
    SELECT CAST(adjustment_id * 4 + 1 AS BIGINT) FROM intermediate.int_adjustments WHERE @changed_since_last_run(_changed_run)
    UNION ALL
    SELECT CAST(split_id * 4 + 2 AS BIGINT) FROM intermediate.int_payments WHERE @changed_since_last_run(_changed_run)
    UNION ALL
    SELECT CAST(claim_procedure_id * 4 + 3 AS BIGINT) FROM intermediate.int_claimprocs WHERE @changed_since_last_run(_changed_run)
    UNION ALL
    SELECT CAST(v.key_value * 4 + CASE v.table_name WHEN 'procedurelog' THEN 0 WHEN 'adjustment' THEN 1 WHEN 'paysplit' THEN 2 ELSE 3 END AS BIGINT)
    FROM @vanished_log() AS v
    WHERE v.table_name IN ('procedurelog', 'adjustment', 'paysplit', 'claimproc')
  )
);

/* ... then the entries whose source row changed since and no longer makes one (a procedure no
   longer complete or marked deleted, a split now unearned, a claim line no longer received) */
@delete_rows(
  m.entry_id IN (
    SELECT CAST(procedure_id * 4 AS BIGINT) FROM intermediate.int_procedures WHERE @changed_since_last_run(_changed_run) AND NOT COALESCE(is_complete, FALSE)
    UNION ALL
    SELECT CAST(procedure_id * 4 AS BIGINT) FROM staging.stg_procedurelog WHERE @changed_since_last_run(_sync_run_id) AND proc_status = 6
    UNION ALL
    SELECT CAST(split_id * 4 + 2 AS BIGINT) FROM intermediate.int_payments WHERE @changed_since_last_run(_changed_run) AND COALESCE(is_unearned, TRUE)
    UNION ALL
    SELECT CAST(claim_procedure_id * 4 + 3 AS BIGINT) FROM intermediate.int_claimprocs WHERE @changed_since_last_run(_changed_run) AND NOT COALESCE(is_received, FALSE)
  )
);

WITH entries AS (
  SELECT 0 AS type_code, CAST('procedure' AS TEXT) AS entry_type, procedure_id AS source_id, guarantor_id, patient_id, provider_id, clinic_id,
    proc_date AS entry_date, ledger_amount AS amount, _changed_run
  FROM intermediate.int_procedures
  WHERE is_complete
  UNION ALL
  SELECT 1, 'adjustment', adjustment_id, guarantor_id, patient_id, provider_id, clinic_id, adj_date, adj_amt, _changed_run
  FROM intermediate.int_adjustments
  UNION ALL
  SELECT 2, 'patient_payment', split_id, guarantor_id, patient_id, provider_id, clinic_id, date_pay, -split_amt, _changed_run
  FROM intermediate.int_payments
  WHERE NOT is_unearned
  UNION ALL
  SELECT 3, 'insurance', claim_procedure_id, guarantor_id, patient_id, provider_id, clinic_id, date_cp, -ledger_credit, _changed_run
  FROM intermediate.int_claimprocs
  WHERE is_received
)
SELECT
  CAST(source_id * 4 + type_code AS BIGINT) AS entry_id, -- the entry: its source key and entry type in one number (source_id x 4 + 0 procedure, 1 adjustment, 2 patient payment, 3 insurance); one key column lets DuckDB merge by it, where a two-column key made SQLMesh compare concatenated strings over the whole table
  entry_type, -- procedure, adjustment, patient_payment or insurance
  source_id, -- the key in the source table (ProcNum, AdjNum, SplitNum, ClaimProcNum)
  guarantor_id, -- the family
  patient_id, -- the patient
  provider_id, -- the provider
  clinic_id, -- the clinic
  entry_date, -- the date the entry counts on for aging
  amount, -- signed: positive raises the balance (procedure fee, positive adjustment, refund), negative lowers it
  GREATEST(amount, 0) AS charge_amount, -- a positive entry is a charge, aged by its date
  GREATEST(-amount, 0) AS credit_amount, -- a negative entry is a credit, pooled and applied to the oldest charges
  _changed_run -- the newest sync run among the entry's inputs: what the next run compares with
FROM entries
WHERE @changed_since_last_run(_changed_run);

/* entries whose source row the loader logged as deleted, found by the entry id (macros/incremental.py) */
@delete_vanished(entry_id, raw.procedurelog, _changed_run, logged_as := v.key_value * 4);

@delete_vanished(entry_id, raw.adjustment, _changed_run, logged_as := v.key_value * 4 + 1);

@delete_vanished(entry_id, raw.paysplit, _changed_run, logged_as := v.key_value * 4 + 2);

@delete_vanished(entry_id, raw.claimproc, _changed_run, logged_as := v.key_value * 4 + 3);

@key_index(entry_id);

@run_index(_changed_run);

/* int_ar_aging reads a family's entries from a date on by it */
@lookup_index(guarantor_id, entry_date);
