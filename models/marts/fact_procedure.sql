MODEL (
  name marts.fact_procedure,
  kind VIEW,
  grain procedure_id,
  audits (primary_key(column := procedure_id)),
  description 'One row per procedure that is not deleted: planned, completed, existing, referred and conditions, with production. A view: it holds no data of its own, so runs never rebuild it.'
);

SELECT
  procedure_id, -- procedurelog.ProcNum
  patient_id, -- the patient
  guarantor_id, -- the family
  provider_id, -- the provider
  clinic_id, -- the clinic
  appointment_id, -- the appointment (0 = none)
  procedure_code_id, -- procedurecode.CodeNum
  proc_code, -- the CDT code
  proc_status, -- ProcStatus code (1 TP, 2 C, 3 EC, 4 EO, 5 R, 7 Cn, 8 TPi)
  proc_status_label, -- ProcStatus label
  proc_date, -- the procedure date
  date_tp, -- the date it was treatment planned
  proc_fee, -- fee per unit
  unit_qty + base_units AS units, -- UnitQty + BaseUnits
  production_amount, -- ProcFee x (UnitQty + BaseUnits)
  CASE WHEN is_complete THEN production_amount ELSE 0 END AS gross_production, -- production_amount of completed procedures (ProcStatus 2), 0 otherwise
  is_complete, -- completed (ProcStatus 2)
  is_hygiene, -- a hygiene code
  is_broken_appointment_charge -- a D9986/D9987 charge
FROM intermediate.int_procedures
