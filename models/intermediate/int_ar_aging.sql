MODEL (
  name intermediate.int_ar_aging,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key aging_id),
  grain aging_id,
  audits (
    primary_key(column := aging_id),
    not_null(columns := (guarantor_id, as_of_date)),
    aging_buckets_sum_to_balance()
  ),
  description 'Aging of accounts receivable by family (docs/ledger_rules.md, OpenDental''s Aging of A/R): as of every month end since the first ledger entry and as of the run date. Charges dated on or before the as-of date go to buckets by age (0-30, 31-60, 61-90, over 90 days); the family''s credits to that date are applied to the oldest bucket first; credit left over makes 0-30 negative. Families whose balance and pending insurance are all zero are left out. Incremental by family and date: a family''s aging as of a date depends only on what is dated on or before it, so a run ages again a family whose ledger entries or claim lines changed only from the earliest date a change touched (before or after it), and every family from the last run date when the date moved on (macros/aging.py).'
);

/* the families to age again and from which date: the log keeps what the entries and claim lines
   were before this run rewrote them; add what they are now, and a new run date */
@aging_evidence(@execution_ds);

/* the last run date's aging, once the date has passed (month ends stay) */
@aging_clear_stale(@execution_ds);

/* the rows this run ages again (it inserts those that are not zero) */
@aging_clear();

WITH run_date AS (
  SELECT CAST(@execution_ds AS DATE) AS today
), digits AS (
  SELECT d FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS t(d)
), month_numbers AS (
  SELECT a.d * 100 + b.d * 10 + c.d AS n
  FROM digits AS a CROSS JOIN digits AS b CROSS JOIN digits AS c
), families AS (
  /* the families to age in this run, and the first as-of date each is aged from */
  SELECT guarantor_id, from_date
  FROM @aging_scope() AS scope
), kept AS (
  /* each family's newest aging row before its from_date: the run keeps it (nothing dated on or
     before it changed), and its totals hold every entry to its date. PostgreSQL finds it from the
     index on (guarantor_id, as_of_date). None on the first build (every family from the start). */
  SELECT a.guarantor_id, a.as_of_date AS kept_date, a.charges_to_date, a.credits_to_date
  FROM (
    SELECT
      fam.guarantor_id,
      (
        SELECT MAX(k.as_of_date)
        FROM @aging_kept() AS k
        WHERE k.guarantor_id = fam.guarantor_id AND k.as_of_date < fam.from_date
      ) AS kept_date
    FROM families AS fam
    WHERE fam.from_date > DATE '0001-01-01'
  ) AS f
  JOIN @aging_kept() AS a
    ON a.guarantor_id = f.guarantor_id AND a.as_of_date = f.kept_date
), opening AS (
  /* what each family's entries before its from_date add up to (entries fall on as-of dates, so
     none lies between from_date and the first one aged): its running totals start from there,
     not from its first entry. The family's kept row (above) plus its entries after that row's
     date: a few rows a family instead of its whole history before from_date. None on the first
     build (every family from the start). */
  SELECT guarantor_id, SUM(charges) AS charges, SUM(credits) AS credits
  FROM (
    SELECT guarantor_id, charges_to_date AS charges, credits_to_date AS credits
    FROM kept
    UNION ALL
    SELECT l.guarantor_id, l.charge_amount, l.credit_amount
    FROM (
      SELECT fam.guarantor_id, fam.from_date, COALESCE(k.kept_date, DATE '0001-01-01') AS after_date
      FROM families AS fam
      LEFT JOIN kept AS k
        ON k.guarantor_id = fam.guarantor_id
      WHERE fam.from_date > DATE '0001-01-01'
    ) AS s
    JOIN intermediate.int_ledger AS l
      /* entry_date < from_date follows from the as-of date's test below; said for the index
         (guarantor_id, entry_date), as is the kept row's date */
      ON l.guarantor_id = s.guarantor_id AND l.entry_date > s.after_date AND l.entry_date < s.from_date
    CROSS JOIN run_date AS r
    WHERE l.entry_date <= r.today AND LEAST(LAST_DAY(l.entry_date), r.today) < s.from_date
  ) AS o
  GROUP BY 1
), entries AS (
  /* the entries the as-of dates from each family's from_date on read: those dated up to 90 days
     before it (the buckets look back 90 days) and after */
  SELECT
    l.guarantor_id,
    l.entry_date,
    LEAST(LAST_DAY(l.entry_date), r.today) AS as_of_date, -- the first as-of date on or after it
    l.charge_amount,
    l.credit_amount
  FROM intermediate.int_ledger AS l
  JOIN families AS fam
    ON fam.guarantor_id = l.guarantor_id
  CROSS JOIN run_date AS r
  WHERE l.entry_date <= r.today AND l.entry_date > fam.from_date - 91
), per_period AS (
  /* each entry from the family's from_date on, by the as-of date it belongs to */
  SELECT
    e.guarantor_id,
    e.as_of_date,
    SUM(e.charge_amount) AS charges,
    SUM(e.credit_amount) AS credits
  FROM entries AS e
  JOIN families AS fam
    ON fam.guarantor_id = e.guarantor_id
  WHERE e.as_of_date >= fam.from_date
  GROUP BY 1, 2
), starts AS (
  /* the first as-of date each family is aged as of: its from_date when entries came before it,
     else its first entry's */
  SELECT
    fam.guarantor_id,
    CASE WHEN o.guarantor_id IS NULL THEN f.first_as_of ELSE fam.from_date END AS first_as_of
  FROM families AS fam
  LEFT JOIN opening AS o
    ON o.guarantor_id = fam.guarantor_id
  LEFT JOIN (SELECT guarantor_id, MIN(as_of_date) AS first_as_of FROM per_period GROUP BY 1) AS f
    ON f.guarantor_id = fam.guarantor_id
  WHERE o.guarantor_id IS NOT NULL OR f.guarantor_id IS NOT NULL
), as_of_dates AS (
  /* month ends before the run date, from the month of the earliest first as-of date (a family's
     rows start at its own), plus the run date itself */
  SELECT CAST(CAST(DATE_TRUNC('month', f.first_day) AS DATE) + (m.n + 1) * INTERVAL '1 month' AS DATE) - 1 AS as_of_date
  FROM (
    SELECT MIN(first_as_of) AS first_day FROM starts
  ) AS f
  CROSS JOIN month_numbers AS m
  CROSS JOIN run_date AS r
  WHERE CAST(CAST(DATE_TRUNC('month', f.first_day) AS DATE) + (m.n + 1) * INTERVAL '1 month' AS DATE) - 1 < r.today
  UNION ALL
  SELECT today FROM run_date
), grid AS (
  /* the as-of dates each family is aged as of in this run */
  SELECT s.guarantor_id, a.as_of_date
  FROM starts AS s
  JOIN families AS fam
    ON fam.guarantor_id = s.guarantor_id
  JOIN as_of_dates AS a
    ON a.as_of_date >= s.first_as_of AND a.as_of_date >= fam.from_date
), running AS (
  SELECT
    g.guarantor_id,
    g.as_of_date,
    COALESCE(o.charges, 0)
      + SUM(COALESCE(p.charges, 0)) OVER (PARTITION BY g.guarantor_id ORDER BY g.as_of_date ROWS UNBOUNDED PRECEDING) AS charges_to_date,
    COALESCE(o.credits, 0)
      + SUM(COALESCE(p.credits, 0)) OVER (PARTITION BY g.guarantor_id ORDER BY g.as_of_date ROWS UNBOUNDED PRECEDING) AS credits_to_date
  FROM grid AS g
  LEFT JOIN per_period AS p
    ON p.guarantor_id = g.guarantor_id AND p.as_of_date = g.as_of_date
  LEFT JOIN opening AS o
    ON o.guarantor_id = g.guarantor_id
), recent AS (
  /* charges of the last 90 days before each as-of date, by bucket; older charges are the rest */
  SELECT
    e.guarantor_id,
    a.as_of_date,
    SUM(CASE WHEN a.as_of_date - e.entry_date <= 30 THEN e.charge_amount ELSE 0 END) AS c_0_30,
    SUM(CASE WHEN a.as_of_date - e.entry_date BETWEEN 31 AND 60 THEN e.charge_amount ELSE 0 END) AS c_31_60,
    SUM(CASE WHEN a.as_of_date - e.entry_date BETWEEN 61 AND 90 THEN e.charge_amount ELSE 0 END) AS c_61_90
  FROM entries AS e
  JOIN as_of_dates AS a
    ON e.entry_date <= a.as_of_date AND e.entry_date > a.as_of_date - 91
  JOIN families AS fam
    ON fam.guarantor_id = e.guarantor_id AND a.as_of_date >= fam.from_date
  WHERE e.charge_amount <> 0
  GROUP BY 1, 2
), buckets AS (
  SELECT
    r.guarantor_id,
    r.as_of_date,
    r.charges_to_date,
    r.credits_to_date,
    COALESCE(c.c_0_30, 0) AS c_0_30,
    COALESCE(c.c_31_60, 0) AS c_31_60,
    COALESCE(c.c_61_90, 0) AS c_61_90,
    r.charges_to_date - COALESCE(c.c_0_30, 0) - COALESCE(c.c_31_60, 0) - COALESCE(c.c_61_90, 0) AS c_over_90,
    GREATEST(r.credits_to_date, 0) AS credit_pool
  FROM running AS r
  LEFT JOIN recent AS c
    ON c.guarantor_id = r.guarantor_id AND c.as_of_date = r.as_of_date
), applied AS (
  /* credits to the oldest bucket first */
  SELECT
    *,
    LEAST(c_over_90, credit_pool) AS a_over_90,
    LEAST(c_61_90, GREATEST(credit_pool - c_over_90, 0)) AS a_61_90,
    LEAST(c_31_60, GREATEST(credit_pool - c_over_90 - c_61_90, 0)) AS a_31_60
  FROM buckets
), pending AS (
  /* insurance pending at each as-of date: lines not received yet (status 0), or received only after it */
  SELECT c.guarantor_id, a.as_of_date, SUM(c.ins_pay_est) AS ins_est
  FROM intermediate.int_claimprocs AS c
  JOIN families AS fam
    ON fam.guarantor_id = c.guarantor_id
  JOIN as_of_dates AS a
    ON c.proc_date <= a.as_of_date AND a.as_of_date >= fam.from_date
    AND (c.status = 0 OR (c.status IN (1, 4) AND c.date_cp > a.as_of_date))
  GROUP BY 1, 2
), aged AS (
  SELECT
    a.guarantor_id,
    a.as_of_date,
    a.c_0_30 - (a.credits_to_date - a.a_over_90 - a.a_61_90 - a.a_31_60) AS bal_0_30,
    a.c_31_60 - a.a_31_60 AS bal_31_60,
    a.c_61_90 - a.a_61_90 AS bal_61_90,
    a.c_over_90 - a.a_over_90 AS bal_over_90,
    a.charges_to_date - a.credits_to_date AS bal_total,
    COALESCE(p.ins_est, 0) AS ins_est,
    a.charges_to_date,
    a.credits_to_date
  FROM applied AS a
  LEFT JOIN pending AS p
    ON p.guarantor_id = a.guarantor_id AND p.as_of_date = a.as_of_date
)
SELECT
  CAST(aged.guarantor_id * 100000 + (aged.as_of_date - DATE '1970-01-01') AS BIGINT) AS aging_id, -- the row: family and as-of date in one number (guarantor_id x 100000 + days since 1970-01-01, unique until 2243); one key column lets DuckDB merge by it, where a two-column key made SQLMesh compare concatenated strings over the whole table
  aged.guarantor_id, -- the family (patient.Guarantor)
  aged.as_of_date, -- the date the family is aged as of: a month end, or the run date
  aged.as_of_date = r.today AS is_current, -- TRUE for the run date (today's aging)
  aged.bal_0_30, -- charges 0-30 days old, less the credits left after older buckets (negative when the family has a credit)
  aged.bal_31_60, -- charges 31-60 days old, less credits left after older buckets
  aged.bal_61_90, -- charges 61-90 days old, less credits left after the over-90 bucket
  aged.bal_over_90, -- charges more than 90 days old, less the family's credits (applied here first)
  aged.bal_total, -- family balance: all charges less all credits to the as-of date (= the four buckets)
  aged.ins_est, -- pending insurance: InsPayEst of claim lines not yet received at the as-of date (shown beside the balance, not subtracted)
  aged.charges_to_date, -- all charges dated on or before the as-of date
  aged.credits_to_date -- all credits dated on or before the as-of date
FROM aged
JOIN families AS fam
  ON fam.guarantor_id = aged.guarantor_id AND aged.as_of_date >= fam.from_date
CROSS JOIN run_date AS r
WHERE
  (ABS(aged.bal_total) >= 0.005
  OR ABS(aged.bal_0_30) >= 0.005
  OR ABS(aged.bal_over_90) >= 0.005
  OR ABS(aged.ins_est) >= 0.005)
;

@key_index(aging_id);

/* a family's newest row before a date, read by the next run (kept, above) */
@lookup_index(guarantor_id, as_of_date);
