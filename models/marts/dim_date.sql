MODEL (
  name marts.dim_date,
  kind FULL,
  grain date_day,
  audits (primary_key(column := date_day)),
  description 'One row per calendar day from the first dated activity in the practice (procedures, appointments, payments) to two years after the run date.'
);

WITH digits AS (
  SELECT d FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS t(d)
), day_numbers AS (
  SELECT a.d * 10000 + b.d * 1000 + c.d * 100 + e.d * 10 + f.d AS n
  FROM digits AS a CROSS JOIN digits AS b CROSS JOIN digits AS c CROSS JOIN digits AS e CROSS JOIN digits AS f
), bounds AS (
  /* one aggregate over the three minimums: PostgreSQL evaluates it once, where LEAST over three
     scalar subqueries was inlined into every column below (16 scans of the three tables, 12 s) */
  SELECT
    COALESCE(MIN(m.first_day), CAST(@execution_ds AS DATE)) AS first_day,
    CAST(CAST(@execution_ds AS DATE) + INTERVAL '2 years' AS DATE) AS last_day
  FROM (
    SELECT MIN(proc_date) AS first_day FROM intermediate.int_procedures
    UNION ALL
    SELECT MIN(apt_date) FROM intermediate.int_appointments
    UNION ALL
    SELECT MIN(date_pay) FROM intermediate.int_payments
  ) AS m
), days AS (
  SELECT b.first_day + n.n AS date_day
  FROM bounds AS b
  JOIN day_numbers AS n
    ON n.n <= b.last_day - b.first_day
)
SELECT
  date_day, -- the calendar day
  EXTRACT(YEAR FROM date_day) AS year, -- calendar year
  EXTRACT(QUARTER FROM date_day) AS quarter, -- 1-4
  EXTRACT(MONTH FROM date_day) AS month, -- 1-12
  CAST(DATE_TRUNC('month', date_day) AS DATE) AS month_start, -- first day of the month
  LAST_DAY(date_day) AS month_end, -- last day of the month
  CAST(DATE_TRUNC('week', date_day) AS DATE) AS week_start, -- the Monday of the ISO week
  EXTRACT(ISODOW FROM date_day) AS iso_day_of_week, -- 1 Monday .. 7 Sunday
  CASE EXTRACT(ISODOW FROM date_day)
    WHEN 1 THEN 'Monday' WHEN 2 THEN 'Tuesday' WHEN 3 THEN 'Wednesday' WHEN 4 THEN 'Thursday'
    WHEN 5 THEN 'Friday' WHEN 6 THEN 'Saturday' ELSE 'Sunday'
  END AS day_name, -- weekday name
  EXTRACT(ISODOW FROM date_day) IN (6, 7) AS is_weekend, -- Saturday or Sunday
  date_day <= CAST(@execution_ds AS DATE) AS is_past -- on or before the run date
FROM days
