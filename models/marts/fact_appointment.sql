MODEL (
  name marts.fact_appointment,
  kind VIEW,
  grain appointment_id,
  audits (primary_key(column := appointment_id)),
  description 'One row per appointment that still exists, with status, length, production and break history. A view: it holds no data of its own, so runs never rebuild it.'
);

SELECT
  appointment_id, -- appointment.AptNum
  patient_id, -- the patient
  provider_id, -- the dentist
  hygienist_id, -- the hygienist (0 = none)
  clinic_id, -- the clinic
  operatory_id, -- the operatory
  apt_status, -- AptStatus code (1 Scheduled, 2 Complete, 3 UnschedList, 5 Broken, 6 Planned, 7/8 notes)
  apt_status_label, -- AptStatus label
  apt_date, -- the appointment date
  apt_date_time, -- the start time
  scheduled_minutes, -- length on the schedule in minutes
  is_hygiene, -- a hygiene appointment
  is_new_patient, -- a new-patient appointment
  is_on_schedule, -- was on the book (Scheduled, Complete, Unscheduled list, Broken)
  appointment_type_name, -- the appointment type
  confirmation_status, -- the confirmation status
  booked_at, -- when it was made
  was_broken, -- broken at least once
  broken_date, -- the day of the first break
  broken_type, -- missed (no-show), cancelled or unspecified
  was_rescheduled, -- broken and back on the schedule
  scheduled_production, -- fees x units of attached TP and completed procedures
  completed_production, -- fees x units of attached completed procedures
  procedure_count -- attached procedures
FROM intermediate.int_appointments
