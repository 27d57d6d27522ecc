MODEL (
  name marts.dim_patient,
  kind FULL,
  grain patient_id,
  audits (primary_key(column := patient_id), not_null(columns := (guarantor_id))),
  description 'One row per patient (deleted patients included, flagged by status), with family, status, providers, insurance and visit dates.'
);

WITH visits AS (
  SELECT
    patient_id,
    MIN(proc_date) AS first_visit_date,
    MAX(proc_date) AS last_visit_date
  FROM intermediate.int_procedures
  WHERE is_complete AND NOT is_broken_appointment_charge
  GROUP BY 1
), insured AS (
  SELECT DISTINCT patient_id FROM staging.stg_patplan
)
SELECT
  p.patient_id, -- patient.PatNum
  COALESCE(NULLIF(p.guarantor_id, 0), p.patient_id) AS guarantor_id, -- the head of the family (patient.Guarantor)
  COALESCE(NULLIF(p.guarantor_id, 0), p.patient_id) = p.patient_id AS is_guarantor, -- this patient is the family's guarantor
  p.first_name, -- first name
  p.last_name, -- last name
  p.preferred AS preferred_name, -- preferred name
  p.pat_status, -- PatStatus code (0 Patient, 1 NonPatient, 2 Inactive, 3 Archived, 4 Deleted, 5 Deceased, 6 Prospective)
  p.pat_status_label, -- PatStatus label
  p.gender_label AS gender, -- Male, Female, Unknown, Other
  p.birthdate, -- date of birth (NULL when unknown)
  CASE WHEN p.birthdate IS NOT NULL THEN
    EXTRACT(YEAR FROM CAST(@execution_ds AS DATE)) - EXTRACT(YEAR FROM p.birthdate)
    - CASE WHEN EXTRACT(MONTH FROM CAST(@execution_ds AS DATE)) * 100 + EXTRACT(DAY FROM CAST(@execution_ds AS DATE))
             < EXTRACT(MONTH FROM p.birthdate) * 100 + EXTRACT(DAY FROM p.birthdate) THEN 1 ELSE 0 END
  END AS age, -- age in whole years on the run date
  p.primary_provider_id, -- primary provider (dentist)
  p.secondary_provider_id, -- secondary provider (hygienist)
  p.clinic_id, -- the patient's clinic
  p.billing_type_def_id, -- definition of category BillingTypes
  bt.item_name AS billing_type, -- e.g. Standard Account
  i.patient_id IS NOT NULL AS has_insurance, -- has at least one insurance plan (patplan)
  p.date_first_visit AS od_date_first_visit, -- patient.DateFirstVisit as OpenDental stores it
  v.first_visit_date, -- first completed procedure (D9986/D9987 charges excluded): the new-patient date
  v.last_visit_date, -- last completed procedure (D9986/D9987 charges excluded)
  p.sec_date_entry AS created_date, -- when the patient record was created
  p.bal_total AS od_family_balance, -- BalTotal as OpenDental stored it on the guarantor (0 on other members)
  p.ins_est AS od_family_ins_est -- InsEst as OpenDental stored it on the guarantor
FROM staging.stg_patient AS p
LEFT JOIN staging.stg_definition AS bt
  ON bt.definition_id = p.billing_type_def_id AND bt.category_label = 'BillingTypes'
LEFT JOIN visits AS v
  ON v.patient_id = p.patient_id
LEFT JOIN insured AS i
  ON i.patient_id = p.patient_id
