MODEL (
  name marts.fact_ledger,
  kind VIEW,
  grain entry_id,
  audits (primary_key(column := entry_id), not_null(columns := (guarantor_id))),
  description 'The family ledger: every dated charge and credit behind a family balance (docs/ledger_rules.md). The balance as of any date D is the sum of amount for entry_date <= D. A view: it holds no data of its own, so runs never rebuild it.'
);

SELECT
  entry_id, -- the entry: source_id x 4 + 0 procedure, 1 adjustment, 2 patient payment, 3 insurance
  entry_type, -- procedure, adjustment, patient_payment or insurance
  source_id, -- key in the source table
  guarantor_id, -- the family
  patient_id, -- the patient
  provider_id, -- the provider
  clinic_id, -- the clinic
  entry_date, -- the date the entry counts on
  amount, -- signed: charges positive, credits negative
  charge_amount, -- as a charge (0 for credits)
  credit_amount -- as a credit (0 for charges)
FROM intermediate.int_ledger
