MODEL (
  name marts.broken_appointments,
  kind FULL,
  grain (month_start, clinic_id),
  audits (
    unique_combination_of_columns(columns := (month_start, clinic_id)),
    not_null(columns := (month_start, clinic_id))
  ),
  description 'Broken appointments by month and clinic. A break is counted on the day it happened, once per appointment, including appointments put back on the schedule afterwards (which AptStatus alone hides).'
);

WITH booked AS (
  SELECT CAST(DATE_TRUNC('month', apt_date) AS DATE) AS month_start, clinic_id, COUNT(*) AS appointments_scheduled
  FROM intermediate.int_appointments
  WHERE is_on_schedule AND apt_date IS NOT NULL
  GROUP BY 1, 2
), broken AS (
  SELECT
    CAST(DATE_TRUNC('month', broken_date) AS DATE) AS month_start,
    clinic_id,
    COUNT(*) AS broken,
    SUM(CASE WHEN broken_type = 'missed' THEN 1 ELSE 0 END) AS missed,
    SUM(CASE WHEN broken_type = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
    SUM(CASE WHEN was_rescheduled THEN 1 ELSE 0 END) AS rescheduled,
    SUM(CASE WHEN NOT was_rescheduled THEN scheduled_production ELSE 0 END) AS production_lost
  FROM intermediate.int_appointments
  WHERE was_broken AND broken_date IS NOT NULL
  GROUP BY 1, 2
), charges AS (
  SELECT CAST(DATE_TRUNC('month', proc_date) AS DATE) AS month_start, clinic_id, COUNT(*) AS break_charges, SUM(production_amount) AS break_charge_amount
  FROM intermediate.int_procedures
  WHERE is_broken_appointment_charge AND is_complete
  GROUP BY 1, 2
), keys AS (
  SELECT month_start, clinic_id FROM booked
  UNION SELECT month_start, clinic_id FROM broken
  UNION SELECT month_start, clinic_id FROM charges
)
SELECT
  k.month_start, -- first day of the month
  k.clinic_id, -- the clinic
  COALESCE(s.appointments_scheduled, 0) AS appointments_scheduled, -- appointments dated in the month that were on the book (Scheduled, Complete, Unscheduled list, Broken)
  COALESCE(b.broken, 0) AS broken_appointments, -- Broken appointments: appointments broken in the month (AptStatus Broken now, or a break in histappointment)
  COALESCE(b.missed, 0) AS missed, -- No-shows: broken appointments recorded as Missed (HistApptAction 2) or charged D9986
  COALESCE(b.cancelled, 0) AS cancelled, -- Cancellations: broken appointments recorded as Cancelled (HistApptAction 3) or charged D9987
  COALESCE(b.rescheduled, 0) AS rescheduled, -- of those, the appointment itself put back on the schedule since (OpenDental's reschedule: the same AptNum Scheduled or Complete again); a break followed by a new appointment for the same patient counts as not rescheduled
  COALESCE(b.production_lost, 0) AS production_lost, -- scheduled production of the broken appointments not put back on the schedule
  CAST(COALESCE(b.broken, 0) AS DOUBLE) / NULLIF(s.appointments_scheduled, 0) AS broken_rate, -- Broken appointment rate: broken appointments / appointments scheduled in the month
  COALESCE(c.break_charges, 0) AS break_charges, -- D9986/D9987 charges posted in the month
  COALESCE(c.break_charge_amount, 0) AS break_charge_amount -- their amount
FROM keys AS k
LEFT JOIN booked AS s ON s.month_start = k.month_start AND s.clinic_id = k.clinic_id
LEFT JOIN broken AS b ON b.month_start = k.month_start AND b.clinic_id = k.clinic_id
LEFT JOIN charges AS c ON c.month_start = k.month_start AND c.clinic_id = k.clinic_id
