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
), reappointed AS (
  SELECT DISTINCT v.appointment_id
  FROM visits AS v
  JOIN intermediate.int_appointments AS nxt
    ON nxt.patient_id = v.patient_id
    AND nxt.is_hygiene
    AND nxt.apt_date > v.apt_date
    AND nxt.apt_status IN (1, 2, 3, 5)
    AND CAST(nxt.booked_at AS DATE) <= v.apt_date
)
SELECT
  CAST(DATE_TRUNC('month', v.apt_date) AS DATE) AS month_start, -- first day of the month of the hygiene visit
  v.clinic_id, -- the clinic
  COUNT(*) AS hygiene_visits, -- completed hygiene appointments
  COUNT(DISTINCT v.patient_id) AS hygiene_patients, -- distinct patients with a completed hygiene appointment
  COUNT(r.appointment_id) AS reappointed_visits, -- hygiene visits after which the patient had a later hygiene appointment booked by the end of the visit day
  CAST(COUNT(r.appointment_id) AS DOUBLE) / COUNT(*) AS reappointment_rate -- Hygiene re-appointment: reappointed visits / completed hygiene visits
FROM visits AS v
LEFT JOIN reappointed AS r
  ON r.appointment_id = v.appointment_id
GROUP BY 1, 2
