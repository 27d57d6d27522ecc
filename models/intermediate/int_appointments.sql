MODEL (
  name intermediate.int_appointments,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key appointment_id),
  grain appointment_id,
  audits (
    primary_key(column := appointment_id),
    accepted_values(column := apt_status, is_in := (0, 1, 2, 3, 4, 5, 6, 7, 8)),
    accepted_values(column := broken_type, is_in := ('missed', 'cancelled', 'unspecified'))
  ),
  description 'Appointments with their length, type, confirmation, scheduled production and break history. A break is found from AptStatus 5 (Broken), from histappointment (Missed/Cancelled actions, or a snapshot with AptStatus Broken) and from D9986/D9987 charges on the same day: moving a broken appointment back onto the schedule resets AptStatus, so AptStatus alone undercounts. Incremental: recomputes the appointments whose row, history, attached procedures, break charges, type or confirmation a newer sync run wrote (and those a changed procedure was attached to before, logged by int_procedures), deletes the ones gone from OpenDental.'
);

WITH changed AS (
  SELECT appointment_id FROM staging.stg_appointment WHERE @changed_since_last_run(_sync_run_id)
  UNION
  SELECT appointment_id FROM staging.stg_histappointment WHERE @changed_since_last_run(_sync_run_id)
  UNION
  /* procedures attached now, and (logged before int_procedures rewrote them) before */
  SELECT appointment_id FROM intermediate.int_procedures WHERE @changed_since_last_run(_changed_run)
  UNION
  SELECT key_value FROM (@remembered_keys('appointment')) AS k
  UNION
  /* a broken-appointment charge changed: that patient's appointments (the charge is matched by day) */
  SELECT a.appointment_id
  FROM staging.stg_appointment AS a
  WHERE a.patient_id IN (
    SELECT patient_id FROM intermediate.int_procedures
    WHERE is_broken_appointment_charge AND @changed_since_last_run(_changed_run)
    UNION ALL
    SELECT key_value FROM (@remembered_keys('appointment_patient')) AS k
  )
  UNION
  /* one branch per input, each joined back by key and left out when its input did not change: an
     OR of them was planned as a third of the table, and every join after it as a scan of whole
     tables */
  SELECT a.appointment_id
  FROM staging.stg_appointmenttype AS t
  JOIN staging.stg_appointment AS a
    ON a.appointment_type_id = t.appointment_type_id
  WHERE @input_changed(staging.stg_appointmenttype, _sync_run_id) AND @changed_since_last_run(t._sync_run_id)
  UNION
  SELECT a.appointment_id
  FROM staging.stg_definition AS d
  JOIN staging.stg_appointment AS a
    ON a.confirmed_def_id = d.definition_id
  WHERE @input_changed(staging.stg_definition, _sync_run_id) AND @changed_since_last_run(d._sync_run_id)
  UNION
  /* a history row deleted from OpenDental (it keeps them: rare): which appointment it was is
     gone with it, so every appointment */
  SELECT appointment_id FROM staging.stg_appointment WHERE @vanished_since_last_run('histappointment')
), changed_patients AS (
  SELECT DISTINCT patient_id
  FROM staging.stg_appointment
  WHERE @when_incremental(appointment_id IN (SELECT appointment_id FROM changed))
), hist_breaks AS (
  SELECT
    h.appointment_id,
    MIN(h.hist_datetime) AS first_broken_at,
    COUNT(*) AS break_events,
    MAX(h._sync_run_id) AS _sync_run_id
  FROM staging.stg_histappointment AS h
  WHERE
    (h.hist_appt_action IN (2, 3) OR (h.hist_appt_action = 1 AND h.apt_status = 5))
    AND @when_incremental(h.appointment_id IN (SELECT appointment_id FROM changed))
  GROUP BY 1
), first_break AS (
  /* the action of the first break: Missed (2) or Cancelled (3) */
  SELECT
    b.appointment_id,
    MIN(CASE h.hist_appt_action WHEN 2 THEN 'missed' WHEN 3 THEN 'cancelled' END) AS hist_broken_type
  FROM hist_breaks AS b
  JOIN staging.stg_histappointment AS h
    ON h.appointment_id = b.appointment_id AND h.hist_datetime = b.first_broken_at
  GROUP BY 1
), break_charges AS (
  /* D9986 (missed) / D9987 (cancelled) charged to the patient, by day */
  SELECT
    patient_id,
    proc_date,
    MIN(CASE proc_code WHEN 'D9986' THEN 'missed' WHEN 'D9987' THEN 'cancelled' END) AS charge_broken_type
  FROM intermediate.int_procedures
  WHERE
    is_broken_appointment_charge AND is_complete
    AND @when_incremental(patient_id IN (SELECT patient_id FROM changed_patients))
  GROUP BY 1, 2
), attached AS (
  SELECT
    appointment_id,
    SUM(production_amount) AS scheduled_production,
    SUM(CASE WHEN is_complete THEN production_amount ELSE 0 END) AS completed_production,
    COUNT(*) AS procedure_count,
    MAX(_changed_run) AS _changed_run
  FROM intermediate.int_procedures
  WHERE
    appointment_id <> 0 AND proc_status IN (1, 2)
    AND @when_incremental(appointment_id IN (SELECT appointment_id FROM changed))
  GROUP BY 1
), base AS (
  SELECT
    a.*,
    CAST(a.apt_date_time AS DATE) AS apt_date,
    hb.first_broken_at,
    COALESCE(hb.break_events, 0) AS break_events,
    fb.hist_broken_type,
    a.apt_status = 5 OR hb.appointment_id IS NOT NULL AS was_broken,
    hb._sync_run_id AS hist_run
  FROM staging.stg_appointment AS a
  LEFT JOIN hist_breaks AS hb
    ON hb.appointment_id = a.appointment_id
  LEFT JOIN first_break AS fb
    ON fb.appointment_id = a.appointment_id
  WHERE @when_incremental(a.appointment_id IN (SELECT appointment_id FROM changed))
)
SELECT
  b.appointment_id, -- appointment.AptNum
  b.patient_id, -- the patient
  b.provider_id, -- the dentist
  b.hygienist_id, -- the hygienist (0 = none)
  b.clinic_id, -- the clinic
  b.operatory_id, -- the operatory (chair)
  b.apt_status, -- AptStatus code (0 None, 1 Scheduled, 2 Complete, 3 UnschedList, 4 ASAP, 5 Broken, 6 Planned, 7 PtNote, 8 PtNoteCompleted)
  b.apt_status_label, -- AptStatus label
  b.apt_date_time, -- the appointment's start (NULL for planned appointments)
  b.apt_date, -- the appointment's date
  LENGTH(b.pattern) * 5 AS scheduled_minutes, -- length on the schedule: OpenDental stores the time pattern in 5-minute steps
  b.is_hygiene, -- a hygiene appointment (appointment.IsHygiene)
  b.is_new_patient, -- flagged as a new-patient appointment
  b.apt_status IN (1, 2, 3, 5) AS is_on_schedule, -- appointments that were on the book (Scheduled, Complete, and the Unscheduled/Broken ones taken off it); planned appointments and notes are not
  b.appointment_type_id, -- appointmenttype.AppointmentTypeNum (0 = none)
  t.appointment_type_name, -- e.g. Recall, New Patient
  b.confirmed_def_id, -- definition of category ApptConfirmed
  conf.item_name AS confirmation_status, -- e.g. Confirmed, Left Msg
  b.sec_datetime_entry AS booked_at, -- when the appointment was made
  b.was_broken, -- broken at least once (AptStatus Broken now, or a Missed/Cancelled/Broken entry in its history)
  CASE WHEN b.was_broken THEN CAST(COALESCE(b.first_broken_at, b.apt_date_time) AS DATE) END AS broken_date, -- the day of the (first) break
  CASE
    WHEN NOT b.was_broken THEN NULL
    WHEN b.hist_broken_type IS NOT NULL THEN b.hist_broken_type
    WHEN bc.charge_broken_type IS NOT NULL THEN bc.charge_broken_type
    ELSE 'unspecified'
  END AS broken_type, -- missed (no-show: HistApptAction Missed or a D9986 charge), cancelled (HistApptAction Cancelled or a D9987 charge), unspecified
  b.break_events, -- how many times the history records a break
  b.was_broken AND b.apt_status IN (1, 2) AS was_rescheduled, -- broken, then put back on the schedule (AptStatus Scheduled or Complete now)
  COALESCE(p.scheduled_production, 0) AS scheduled_production, -- fees x units of the TP and completed procedures attached to the appointment
  COALESCE(p.completed_production, 0) AS completed_production, -- fees x units of the completed procedures attached
  COALESCE(p.procedure_count, 0) AS procedure_count, -- procedures attached (TP or completed)
  GREATEST(b._sync_run_id, COALESCE(b.hist_run, -1), COALESCE(p._changed_run, -1), COALESCE(t._sync_run_id, -1), COALESCE(conf._sync_run_id, -1)) AS _changed_run -- the newest sync run among the row's inputs: what the next run compares with
FROM base AS b
LEFT JOIN staging.stg_appointmenttype AS t
  ON t.appointment_type_id = b.appointment_type_id
LEFT JOIN staging.stg_definition AS conf
  ON conf.definition_id = b.confirmed_def_id AND conf.category_label = 'ApptConfirmed'
LEFT JOIN break_charges AS bc
  ON bc.patient_id = b.patient_id AND bc.proc_date = CAST(COALESCE(b.first_broken_at, b.apt_date_time) AS DATE)
LEFT JOIN attached AS p
  ON p.appointment_id = b.appointment_id;

@delete_vanished(appointment_id, raw.appointment, _changed_run);

@key_index(appointment_id);

@run_index(_changed_run);
