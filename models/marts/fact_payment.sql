MODEL (
  name marts.fact_payment,
  kind VIEW,
  grain (payer, source_id),
  audits (
    unique_key(columns := (payer, source_id)),
    not_null(columns := (payer, source_id, payment_date)),
    accepted_values(column := payer, is_in := ('patient', 'insurance'))
  ),
  description 'Money received, one row per patient pay split and per insurance claim line paid on a check: the income side of Production & Income. A view: it holds no data of its own, so runs never rebuild it.'
);

SELECT
  'patient' AS payer, -- patient or insurance
  split_id AS source_id, -- paysplit.SplitNum or claimproc.ClaimProcNum
  payment_id, -- payment.PayNum (patient) or claimpayment.ClaimPaymentNum (insurance)
  date_pay AS payment_date, -- the date income counts on (DatePay; the check date for insurance)
  patient_id, -- the patient
  guarantor_id, -- the family
  provider_id, -- the provider credited
  clinic_id, -- the clinic credited
  pay_type_name AS payment_type, -- payment type (definition category PaymentTypes or InsurancePaymentType)
  split_amt AS amount, -- the amount received
  is_unearned, -- a prepayment (unearned income), not income yet
  is_income_transfer, -- an income transfer (PayType 0): moves money, adds none
  _changed_run -- the newest sync run among the row's inputs: what an incremental mart built on it compares with
FROM intermediate.int_payments
UNION ALL
SELECT
  'insurance',
  c.claim_procedure_id,
  c.claim_payment_id,
  c.insurance_income_date,
  c.patient_id,
  c.guarantor_id,
  c.provider_id,
  c.clinic_id,
  COALESCE(t.item_name, 'Insurance'),
  c.insurance_income,
  FALSE,
  FALSE,
  GREATEST(c._changed_run, COALESCE(cp._sync_run_id, -1), COALESCE(t._sync_run_id, -1))
FROM intermediate.int_claimprocs AS c
LEFT JOIN staging.stg_claimpayment AS cp
  ON cp.claim_payment_id = c.claim_payment_id
LEFT JOIN staging.stg_definition AS t
  ON t.definition_id = cp.pay_type_def_id AND t.category_label = 'InsurancePaymentType'
WHERE c.insurance_income_date IS NOT NULL
