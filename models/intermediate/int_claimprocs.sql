MODEL (
  name intermediate.int_claimprocs,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key claim_procedure_id),
  grain claim_procedure_id,
  audits (
    primary_key(column := claim_procedure_id),
    accepted_values(column := status, is_in := (0, 1, 2, 3, 4, 5, 6, 7, 8, 9))
  ),
  description 'Insurance per procedure (claimproc) with the claim, the insurance check and the dates each write-off rule and insurance income use. Incremental: merges the rows whose inputs a newer sync run wrote, deletes the ones gone from its input.'
);

/* before the merge and the delete overwrite them: the family and procedure date of the lines
   whose own row changed or is gone, for the aging's pending insurance (macros/aging.py); a line
   moved to another family is its patient's move (int_families) */
@remember_families(
  m.guarantor_id,
  m.proc_date,
  m.claim_procedure_id IN (
    SELECT claim_procedure_id FROM staging.stg_claimproc WHERE @changed_since_last_run(_sync_run_id)
    UNION ALL
    SELECT key_value FROM @vanished_log() WHERE table_name = 'claimproc'
  )
);

/* the day, provider and clinic each date of a line whose own row or check changed, or that is
   gone, counted in, for production_income_daily to recompute */
@remember_groups(
  'production',
  (m.date_cp, m.writeoff_payment_date, m.insurance_income_date),
  m.provider_id,
  m.clinic_id,
  m.claim_procedure_id IN (
    SELECT claim_procedure_id FROM staging.stg_claimproc WHERE @changed_since_last_run(_sync_run_id)
    UNION ALL
    SELECT key_value FROM @vanished_log() WHERE table_name = 'claimproc'
  )
  OR m.claim_payment_id IN (SELECT claim_payment_id FROM staging.stg_claimpayment WHERE @changed_since_last_run(_sync_run_id))
);

WITH changed AS (
  /* the claim lines to recompute: those whose own row, claim, check or family a newer sync run
     wrote, each input's changed rows joined back to the lines by key (as in int_payments) */
  SELECT cp.claim_procedure_id
  FROM staging.stg_claimproc AS cp
  WHERE @changed_since_last_run(cp._sync_run_id)
  UNION
  SELECT cp.claim_procedure_id
  FROM staging.stg_claim AS cl
  JOIN staging.stg_claimproc AS cp
    ON cp.claim_id = cl.claim_id
  WHERE @changed_since_last_run(cl._sync_run_id)
  UNION
  SELECT cp.claim_procedure_id
  FROM staging.stg_claimpayment AS cpay
  JOIN staging.stg_claimproc AS cp
    ON cp.claim_payment_id = cpay.claim_payment_id
  WHERE @changed_since_last_run(cpay._sync_run_id)
  UNION
  SELECT cp.claim_procedure_id
  FROM intermediate.int_families AS fam
  JOIN staging.stg_claimproc AS cp
    ON cp.patient_id = fam.patient_id
  WHERE @changed_since_last_run(fam._changed_run)
)
SELECT
  cp.claim_procedure_id, -- claimproc.ClaimProcNum
  cp.claim_id, -- the claim (0 for estimates not on a claim)
  cp.procedure_id, -- the procedure the line pays for
  cp.patient_id, -- the patient
  COALESCE(fam.guarantor_id, cp.patient_id) AS guarantor_id, -- the family
  cp.provider_id, -- the provider credited
  cp.clinic_id, -- the clinic
  cp.plan_id, -- insplan.PlanNum
  cp.status, -- claimproc.Status code (0 NotReceived, 1 Received, 2 Preauth, 3 Adjustment, 4 Supplemental, 5 CapClaim, 6 Estimate, 7 CapComplete, 8 CapEstimate, 9 InsHist)
  cp.status_label, -- claimproc.Status label
  cp.status IN (1, 4) AS is_received, -- Received or Supplemental: the carrier has paid (or denied) this line
  cp.fee_billed, -- the fee sent on the claim
  cp.ins_pay_est, -- the insurance estimate
  cp.ins_pay_amt, -- what the carrier paid
  cp.write_off, -- the write-off (contractual adjustment)
  cp.proc_date, -- the procedure date
  cp.date_cp, -- claimproc.DateCP: the date the payment was entered (for received lines)
  cp.claim_payment_id, -- the insurance check (0 = not yet on a check)
  cpay.check_date, -- the check's date (claimpayment.CheckDate)
  cl.claim_status, -- claim.ClaimStatus code (U, H, W, P, S, R, I)
  cl.date_sent AS claim_date_sent, -- when the claim was last sent
  COALESCE(cl.date_sent_orig, cl.date_sent) AS claim_date_sent_orig, -- when the claim was first sent (DateSentOrig, else DateSent)
  CASE WHEN cp.status IN (1, 4) AND cp.claim_payment_id <> 0 AND cpay.claim_payment_id IS NOT NULL THEN cp.ins_pay_amt ELSE 0 END AS insurance_income, -- InsPayAmt of a Received/Supplemental line attached to an insurance check; a payment not yet on a check is not income yet
  CASE WHEN cp.status IN (1, 4) AND cp.claim_payment_id <> 0 AND cpay.claim_payment_id IS NOT NULL THEN cpay.check_date END AS insurance_income_date, -- the check date, the date insurance income counts on
  CASE WHEN cp.status IN (1, 4) THEN cp.write_off ELSE 0 END AS writeoff_by_payment_date, -- write-off counted under the insurance-payment-date rule (status 1/4) ...
  CASE WHEN cp.status IN (1, 4) THEN cp.date_cp END AS writeoff_payment_date, -- ... on DateCP
  CASE WHEN cp.status IN (0, 1, 4) THEN cp.write_off ELSE 0 END AS writeoff_by_proc_date, -- write-off counted under the procedure-date and claim-date rules (status 0/1/4) ...
  CASE WHEN cp.status IN (0, 1, 4) THEN cp.proc_date END AS writeoff_proc_date, -- ... on the procedure date
  CASE WHEN cp.status IN (0, 1, 4) THEN COALESCE(cl.date_sent_orig, cl.date_sent) END AS writeoff_claim_date, -- ... or on the initial claim date
  CASE WHEN cp.status = 7 THEN cp.write_off ELSE 0 END AS capitation_writeoff, -- write-off of a CapComplete line: reduces production, dated DateCP
  CASE WHEN cp.status IN (1, 4) THEN cp.ins_pay_amt + cp.write_off ELSE 0 END AS ledger_credit, -- what the line takes off the family balance (InsPayAmt + WriteOff of status 1/4, on DateCP)
  CASE WHEN cp.status = 0 THEN cp.ins_pay_est ELSE 0 END AS pending_estimate, -- InsPayEst of a NotReceived line: the family's pending insurance (InsEst)
  GREATEST(cp._sync_run_id, COALESCE(cl._sync_run_id, -1), COALESCE(cpay._sync_run_id, -1), COALESCE(fam._changed_run, -1)) AS _changed_run -- the newest sync run among the row's inputs: what the next run compares with
FROM staging.stg_claimproc AS cp
LEFT JOIN staging.stg_claim AS cl
  ON cl.claim_id = NULLIF(cp.claim_id, 0) -- 0 = not on a claim (an equi-join: DuckDB turned `AND cp.claim_id <> 0` into a nested loop)
LEFT JOIN staging.stg_claimpayment AS cpay
  ON cpay.claim_payment_id = NULLIF(cp.claim_payment_id, 0) -- 0 = not on a check
LEFT JOIN intermediate.int_families AS fam
  ON fam.patient_id = cp.patient_id
WHERE @when_incremental(cp.claim_procedure_id IN (SELECT claim_procedure_id FROM changed));

@delete_vanished(claim_procedure_id, raw.claimproc, _changed_run);

@key_index(claim_procedure_id);

/* production_income_daily reads the rows of the groups it recomputes by it */
@lookup_index(date_cp, provider_id, clinic_id);

@lookup_index(writeoff_payment_date, provider_id, clinic_id);

@lookup_index(insurance_income_date, provider_id, clinic_id);

@run_index(_changed_run);
