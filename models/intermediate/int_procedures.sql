MODEL (
  name intermediate.int_procedures,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key procedure_id),
  grain procedure_id,
  audits (
    primary_key(column := procedure_id),
    accepted_values(column := proc_status, is_in := (1, 2, 3, 4, 5, 7, 8))
  ),
  description 'Every procedure that is not deleted (ProcStatus 6 excluded), with its code, family and the two fee rules: production (the Production & Income report) and ledger charge (the Account module). Incremental: merges the rows whose inputs a newer sync run wrote, deletes the ones gone from its input.'
);

/* before the merge and the deletes overwrite them: the appointment a changed or deleted procedure
   was attached to, and the patient of a broken-appointment charge, for int_appointments to
   recompute (a procedure moved off an appointment, or deleted, leaves no trace of it after) */
@remember_keys(
  'appointment',
  m.appointment_id,
  m.appointment_id <> 0
  AND m.procedure_id IN (
    SELECT procedure_id FROM staging.stg_procedurelog WHERE @changed_since_last_run(_sync_run_id)
    UNION ALL
    SELECT v.key_value FROM @vanished_log() AS v WHERE v.table_name = 'procedurelog'
  )
);

@remember_keys(
  'appointment_patient',
  m.patient_id,
  m.is_broken_appointment_charge
  AND (
    m.procedure_id IN (
      SELECT procedure_id FROM staging.stg_procedurelog WHERE @changed_since_last_run(_sync_run_id)
      UNION ALL
      SELECT v.key_value FROM @vanished_log() AS v WHERE v.table_name = 'procedurelog'
    )
    OR m.procedure_code_id IN (SELECT procedure_code_id FROM staging.stg_procedurecode WHERE @changed_since_last_run(_sync_run_id))
  )
);

/* ... and the day, provider and clinic a changed or deleted completed procedure counted in, for
   production_income_daily to recompute */
@remember_groups(
  'production',
  m.proc_date,
  m.provider_id,
  m.clinic_id,
  m.is_complete
  AND m.procedure_id IN (
    SELECT procedure_id FROM staging.stg_procedurelog WHERE @changed_since_last_run(_sync_run_id)
    UNION ALL
    SELECT v.key_value FROM @vanished_log() AS v WHERE v.table_name = 'procedurelog'
  )
);

/* ... then the procedures marked deleted (status 6) since: they leave the model */
@delete_rows(
  m.procedure_id IN (
    SELECT procedure_id FROM staging.stg_procedurelog WHERE @changed_since_last_run(_sync_run_id) AND proc_status = 6
  )
);

WITH changed AS (
  /* the procedures to recompute: those whose own row, code or family a newer sync run wrote, each
     input's changed rows joined back to the procedures by key (as in int_payments) */
  SELECT p.procedure_id
  FROM staging.stg_procedurelog AS p
  WHERE @changed_since_last_run(p._sync_run_id)
  UNION
  SELECT p.procedure_id
  FROM staging.stg_procedurecode AS c
  JOIN staging.stg_procedurelog AS p
    ON p.procedure_code_id = c.procedure_code_id
  WHERE @input_changed(staging.stg_procedurecode, _sync_run_id) AND @changed_since_last_run(c._sync_run_id)
  UNION
  SELECT p.procedure_id
  FROM intermediate.int_families AS fam
  JOIN staging.stg_procedurelog AS p
    ON p.patient_id = fam.patient_id
  WHERE @changed_since_last_run(fam._changed_run)
)
SELECT
  p.procedure_id, -- procedurelog.ProcNum
  p.patient_id, -- the patient treated
  COALESCE(fam.guarantor_id, p.patient_id) AS guarantor_id, -- the family (patient.Guarantor) whose ledger carries the charge
  p.provider_id, -- the provider credited with the procedure
  p.clinic_id, -- clinic of the procedure (0 = no clinic)
  p.appointment_id, -- the scheduled appointment it is attached to (0 = none)
  p.planned_appointment_id, -- the planned appointment it is attached to (0 = none)
  p.procedure_code_id, -- procedurecode.CodeNum
  c.proc_code, -- the CDT code, e.g. D1110
  c.descript AS proc_description, -- the code's description
  COALESCE(c.is_hygiene, FALSE) AS is_hygiene, -- the code is flagged as hygiene in OpenDental
  c.proc_code IN ('D9986', 'D9987') AS is_broken_appointment_charge, -- D9986 missed / D9987 cancelled appointment charge
  p.proc_status, -- ProcStatus code (1 TP, 2 C, 3 EC, 4 EO, 5 R, 7 Cn, 8 TPi; 6 deleted is excluded)
  p.proc_status_label, -- ProcStatus label
  p.proc_status = 2 AS is_complete, -- ProcStatus 2 (C): completed by this office
  p.proc_status IN (1, 8) AS is_treatment_planned, -- ProcStatus 1 (TP) or 8 (TPi, inactive plan)
  p.proc_date, -- the procedure date (completion date for completed work)
  p.date_tp, -- the date the procedure was treatment planned
  p.proc_fee, -- fee per unit
  p.unit_qty, -- units entered on the procedure
  p.base_units, -- base units of the code (anesthesia)
  p.proc_fee * (p.unit_qty + p.base_units) AS production_amount, -- ProcFee x (UnitQty + BaseUnits), the Production & Income report's rule (0 when both unit counts are 0)
  p.proc_fee * GREATEST(p.unit_qty + p.base_units, 1) AS ledger_amount, -- ProcFee x (UnitQty + BaseUnits), at least one unit: the Account module's charge
  GREATEST(p._sync_run_id, COALESCE(c._sync_run_id, -1), COALESCE(fam._changed_run, -1)) AS _changed_run -- the newest sync run among the row's inputs: what the next run compares with
FROM staging.stg_procedurelog AS p
LEFT JOIN staging.stg_procedurecode AS c
  ON c.procedure_code_id = p.procedure_code_id
LEFT JOIN intermediate.int_families AS fam
  ON fam.patient_id = p.patient_id
WHERE
  p.proc_status <> 6
  AND @when_incremental(p.procedure_id IN (SELECT procedure_id FROM changed));

@delete_vanished(procedure_id, raw.procedurelog, _changed_run);

@key_index(procedure_id);

/* production_income_daily reads the rows of the groups it recomputes by it */
@lookup_index(proc_date, provider_id, clinic_id);

@run_index(_changed_run);
