MODEL (
  name intermediate.int_treatment_plans,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key procedure_id),
  grain procedure_id,
  audits (primary_key(column := procedure_id)),
  description 'Diagnosed treatment: every procedure that was treatment planned (DateTP set) and is now planned (TP, TPi) or completed, with whether the patient accepted it (scheduled or completed). Deleted, existing (EC/EO), referred and condition entries are not treatment, and neither is routine care booked with recall visits (diagnostic D0xxx, preventive D1xxx, periodontal maintenance D4910, debridement D4355): scheduling a checkup is not accepting a case. Incremental: merges the rows whose inputs a newer sync run wrote, deletes the ones gone from its input.'
);

/* before the merge: the procedures that stopped being diagnosed treatment since (their row in
   int_procedures changed and fails the filter below, or they left it, marked deleted) */
@delete_rows(
  m.procedure_id IN (
    SELECT s.procedure_id FROM intermediate.int_procedures AS s
    WHERE @changed_since_last_run(s._changed_run)
      AND NOT COALESCE(s.date_tp IS NOT NULL AND s.proc_status IN (1, 2, 8) AND NOT s.is_broken_appointment_charge AND NOT @is_routine_care(s.proc_code), FALSE)
    UNION ALL
    SELECT procedure_id FROM staging.stg_procedurelog WHERE @changed_since_last_run(_sync_run_id) AND proc_status = 6
  )
);

SELECT
  p.procedure_id, -- procedurelog.ProcNum
  p.patient_id, -- the patient
  p.provider_id, -- the diagnosing/treating provider
  p.clinic_id, -- the clinic
  p.proc_code, -- the CDT code
  p.date_tp, -- the date the treatment was planned (diagnosed)
  p.proc_status, -- ProcStatus now: 1 TP, 2 C, 8 TPi
  p.production_amount AS diagnosed_amount, -- fee x units of the planned procedure
  p.is_complete, -- done (ProcStatus C)
  p.proc_status = 1 AND COALESCE(a.apt_status = 1, FALSE) AS is_scheduled, -- still planned and on a scheduled appointment
  p.is_complete OR (p.proc_status = 1 AND COALESCE(a.apt_status = 1, FALSE)) AS is_accepted, -- accepted = scheduled or completed
  CASE WHEN p.is_complete OR (p.proc_status = 1 AND COALESCE(a.apt_status = 1, FALSE)) THEN p.production_amount ELSE 0 END AS accepted_amount, -- diagnosed_amount when accepted, else 0
  p.proc_status = 1 AND COALESCE(a.apt_status, 0) <> 1 AS is_unscheduled, -- still planned (TP) and not on a scheduled appointment: unscheduled treatment
  COALESCE(a.apt_status = 5, FALSE) AS is_on_broken_appointment, -- on an appointment broken and not put back on the schedule (AptStatus 5): its value is counted with the missed appointment
  GREATEST(p._changed_run, COALESCE(a._sync_run_id, -1)) AS _changed_run -- the newest sync run among the row's inputs: what the next run compares with
FROM intermediate.int_procedures AS p
LEFT JOIN staging.stg_appointment AS a
  ON a.appointment_id = NULLIF(p.appointment_id, 0) -- 0 = not on an appointment (an equi-join: DuckDB turned `AND p.appointment_id <> 0` into a nested loop)
WHERE
  p.date_tp IS NOT NULL
  AND p.proc_status IN (1, 2, 8)
  AND NOT p.is_broken_appointment_charge
  AND NOT @is_routine_care(p.proc_code)
  AND @changed_since_last_run(p._changed_run, a._sync_run_id);

@delete_vanished(procedure_id, raw.procedurelog, _changed_run);

@key_index(procedure_id);

@run_index(_changed_run);
