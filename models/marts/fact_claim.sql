MODEL (
  name marts.fact_claim,
  kind FULL,
  grain claim_id,
  audits (primary_key(column := claim_id), accepted_values(column := claim_status, is_in := ('U', 'H', 'W', 'P', 'S', 'R', 'I', 'A'))),
  description 'One row per insurance claim, with what was billed, estimated, paid and written off across its lines, and how old it is if unpaid.'
);

WITH lines AS (
  SELECT
    claim_id,
    SUM(fee_billed) AS fee_billed,
    SUM(ins_pay_est) AS ins_pay_est,
    SUM(ins_pay_amt) AS ins_pay_amt,
    SUM(write_off) AS write_off,
    MAX(date_cp) AS last_payment_date,
    COUNT(*) AS line_count
  FROM intermediate.int_claimprocs
  WHERE claim_id <> 0
  GROUP BY 1
)
SELECT
  c.claim_id, -- claim.ClaimNum
  c.patient_id, -- the patient
  c.plan_id, -- insplan.PlanNum
  c.treating_provider_id, -- the treating provider
  c.clinic_id, -- the clinic
  c.claim_type, -- P primary, S secondary, PreAuth, Cap, Other
  c.claim_type_label, -- claim type label
  c.claim_status, -- the ClaimStatus code: U unsent, H hold, W waiting to send, P probably sent, S sent, R received, I hold for in-process
  c.claim_status_label, -- ClaimStatus label
  c.date_service, -- date of service
  c.date_sent, -- date last sent
  c.date_received, -- date received (NULL while outstanding)
  c.claim_fee, -- the total fee billed (claim.ClaimFee)
  COALESCE(l.ins_pay_est, 0) AS ins_pay_est, -- estimated insurance across lines
  COALESCE(l.ins_pay_amt, 0) AS ins_pay_amt, -- paid by insurance across lines
  COALESCE(l.write_off, 0) AS write_off, -- written off across lines
  l.last_payment_date, -- latest DateCP of a line
  COALESCE(l.line_count, 0) AS line_count, -- claim lines (claimprocs)
  c.claim_type <> 'PreAuth' AND c.claim_status NOT IN ('R') AS is_outstanding, -- not received yet (pre-authorizations excluded)
  CASE WHEN c.claim_type <> 'PreAuth' AND c.claim_status = 'S' AND c.date_sent IS NOT NULL
       THEN DATE_DIFF('day', c.date_sent, CAST(@execution_ds AS DATE)) END AS days_outstanding, -- days since the claim was sent, for sent claims not yet received, on the run date
  CASE WHEN c.date_received IS NOT NULL AND c.date_sent IS NOT NULL THEN DATE_DIFF('day', c.date_sent, c.date_received) END AS days_to_receive -- days from sending to receiving
FROM staging.stg_claim AS c
LEFT JOIN lines AS l
  ON l.claim_id = c.claim_id
