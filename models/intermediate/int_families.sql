MODEL (
  name intermediate.int_families,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key patient_id),
  grain patient_id,
  audits (primary_key(column := patient_id), not_null(columns := (guarantor_id))),
  columns (
    patient_id BIGINT,
    guarantor_id BIGINT,
    _changed_run BIGINT
  ),
  description 'Which family (guarantor) each patient belongs to: what the money models look up on the patient. Patient rows change often (balances, contact details, OpenDental''s aging); `_changed_run` moves only when the family does, so those edits do not make every charge and payment of the patient look changed.'
);

/* before the merge: the family a patient leaves (or that loses a deleted patient) is aged again
   from its start (macros/aging.py) */
@remember_families(
  m.guarantor_id,
  CAST(NULL AS DATE),
  EXISTS (
    SELECT 1 FROM staging.stg_patient AS p
    WHERE p.patient_id = m.patient_id
      AND @changed_since_last_run(p._sync_run_id)
      AND COALESCE(NULLIF(p.guarantor_id, 0), p.patient_id) <> m.guarantor_id
  )
  OR m.patient_id IN (SELECT key_value FROM @vanished_log() WHERE table_name = 'patient')
);

SELECT
  p.patient_id, -- patient.PatNum
  COALESCE(NULLIF(p.guarantor_id, 0), p.patient_id) AS guarantor_id, -- patient.Guarantor (the patient itself when 0): the family whose ledger carries the patient's charges and credits
  CASE
    WHEN f.guarantor_id = COALESCE(NULLIF(p.guarantor_id, 0), p.patient_id) THEN f._changed_run
    ELSE p._sync_run_id
  END AS _changed_run -- the sync run that last changed the patient's family (a patient edit that keeps the family keeps it)
FROM staging.stg_patient AS p
LEFT JOIN intermediate.int_families AS f
  ON f.patient_id = p.patient_id
WHERE @changed_since_last_run(p._sync_run_id);

@delete_vanished(patient_id, raw.patient, _changed_run);

@key_index(patient_id);

@run_index(_changed_run);
