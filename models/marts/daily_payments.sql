MODEL (
  name marts.daily_payments,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key (payment_date, payer, payment_type)),
  grain (payment_date, payer, payment_type),
  audits (
    unique_key(columns := (payment_date, payer, payment_type)),
    not_null(columns := (payment_date, payer, payment_type))
  ),
  description 'Daily payments by payer (patient, insurance) and payment type: the deposit-slip view. Income transfers are left out (they move money, they do not bring it in); prepayments are shown apart. Incremental: recomputes whole the days a payment written since counts on, and those a changed or deleted one counted on before.'
);

/* before the run changes anything: the days to recompute, those a split or an insurance line
   written since (or whose insurance payment type was renamed) counts on, and those a changed or
   deleted one counted on before (logged by int_payments and int_claimprocs for production_income_daily) */
@remember_days(
  'payment_days',
  (
    SELECT date_pay AS day FROM intermediate.int_payments WHERE @changed_since_last_run(_changed_run)
    UNION
    SELECT insurance_income_date FROM intermediate.int_claimprocs WHERE @changed_since_last_run(_changed_run)
    UNION
    SELECT c.insurance_income_date
    FROM staging.stg_definition AS t
    JOIN staging.stg_claimpayment AS cp
      ON cp.pay_type_def_id = t.definition_id
    JOIN intermediate.int_claimprocs AS c
      ON c.claim_payment_id = cp.claim_payment_id
    WHERE
      @input_changed(staging.stg_definition, _sync_run_id)
      AND t.category_label = 'InsurancePaymentType'
      AND @changed_since_last_run(t._sync_run_id)
    UNION
    SELECT day FROM (@remembered_groups('production')) AS g
  )
);

/* those days' rows go, and come back recomputed: a group that no longer has a payment is not put back */
@delete_rows(m.payment_date IN (SELECT day FROM (@remembered_groups('payment_days')) AS g));

SELECT
  payment_date, -- the day (DatePay; the check date for insurance)
  payer, -- patient or insurance
  COALESCE(payment_type, 'Unknown') AS payment_type, -- Check, Cash, Credit Card ... (definition categories PaymentTypes / InsurancePaymentType)
  COUNT(DISTINCT payment_id) AS payment_count, -- distinct payments (patient payments or insurance checks)
  SUM(CASE WHEN NOT is_unearned THEN amount ELSE 0 END) AS amount, -- Payments received: earned patient pay splits and insurance paid on checks
  SUM(CASE WHEN is_unearned THEN amount ELSE 0 END) AS prepayments, -- Prepayments received: unearned pay splits
  MAX(_changed_run) AS _changed_run -- the newest sync run among the day's payments: what the next run compares with
FROM marts.fact_payment
WHERE
  NOT is_income_transfer
  AND @when_incremental(payment_date IN (SELECT day FROM (@remembered_groups('payment_days')) AS g))
GROUP BY 1, 2, 3;

@key_index(payment_date, payer, payment_type);
