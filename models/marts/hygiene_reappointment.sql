MODEL (
  name marts.hygiene_reappointment,
  kind FULL,
  grain (month_start, clinic_id),
  audits (
    unique_combination_of_columns(columns := (month_start, clinic_id)),
    not_null(columns := (month_start, clinic_id))
  ),
  description 'Hygiene re-appointment by month and clinic: of the completed hygiene appointments, how many patients left with their next hygiene appointment already booked.'
);

WITH visits AS (
  SELECT appointment_id, patient_id, clinic_id, apt_date
  FROM intermediate.int_appointments
  WHERE apt_status = 2 AND is_hygiene AND apt_date IS NOT NULL AND apt_date <= CAST(@execution_ds AS DATE)
), hygiene_days AS (
  /* each day a patient has a hygiene appointment that is or was on the book (Scheduled,
     Complete, Unscheduled list, Broken), with the earliest day one of them was booked; every
     visit's day is one */
  SELECT patient_id, apt_date, MIN(CAST(booked_at AS DATE)) AS booked_date
  FROM intermediate.int_appointments
  WHERE is_hygiene AND apt_status IN (1, 2, 3, 5) AND apt_date IS NOT NULL AND patient_id IS NOT NULL
  GROUP BY 1, 2
), booked_later AS (
  /* the earliest booking among the patient's hygiene appointments on later days: a visit was
     reappointed when that is on or before its own day (one pass in date order per patient, not a
     join of every visit with every later appointment) */
  SELECT
    patient_id,
    apt_date,
    MIN(booked_date) OVER (
      PARTITION BY patient_id ORDER BY apt_date ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING
    ) AS first_booked_after
  FROM hygiene_days
)
SELECT
  CAST(DATE_TRUNC('month', v.apt_date) AS DATE) AS month_start, -- first day of the month of the hygiene visit
  v.clinic_id, -- the clinic
  COUNT(*) AS hygiene_visits, -- completed hygiene appointments
  COUNT(DISTINCT v.patient_id) AS hygiene_patients, -- distinct patients with a completed hygiene appointment
  COUNT(CASE WHEN b.first_booked_after <= v.apt_date THEN 1 END) AS reappointed_visits, -- hygiene visits after which the patient had a later hygiene appointment booked by the end of the visit day
  CAST(COUNT(CASE WHEN b.first_booked_after <= v.apt_date THEN 1 END) AS DOUBLE) / COUNT(*) AS reappointment_rate -- Hygiene re-appointment: reappointed visits / completed hygiene visits
FROM visits AS v
LEFT JOIN booked_later AS b
  ON b.patient_id = v.patient_id AND b.apt_date = v.apt_date
GROUP BY 1, 2
