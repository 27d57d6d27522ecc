MODEL (
  name intermediate.int_payments,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key split_id),
  grain split_id,
  audits (primary_key(column := split_id)),
  description 'Patient payments at the split level (paysplit), with the payment, its type from definition category PaymentTypes and whether the split is unearned (prepayment) or an income transfer. Incremental: merges the rows whose inputs a newer sync run wrote, deletes the ones gone from its input.'
);

/* before the merge and the delete overwrite them: the day, provider and clinic a split whose own
   row changed, or that is gone, counted in, for production_income_daily to recompute */
@remember_groups(
  'production',
  m.date_pay,
  m.provider_id,
  m.clinic_id,
  m.split_id IN (
    SELECT split_id FROM staging.stg_paysplit WHERE @changed_since_last_run(_sync_run_id)
    UNION ALL
    SELECT key_value FROM @vanished_log() WHERE table_name = 'paysplit'
  )
);

/* ... and the family and date of a split whose own row changed, that is gone, or whose patient
   moved to another family, for int_billing to recompute the statements it fell 30 days after */
@remember_keys(
  'payment_family',
  m.guarantor_id,
  m.split_id IN (
    SELECT split_id FROM staging.stg_paysplit WHERE @changed_since_last_run(_sync_run_id)
    UNION ALL
    SELECT key_value FROM @vanished_log() WHERE table_name = 'paysplit'
  )
  OR m.patient_id IN (SELECT patient_id FROM intermediate.int_families WHERE @changed_since_last_run(_changed_run)),
  day := m.date_pay
);

WITH changed AS (
  /* the splits to recompute: those whose own row or a looked-up row (payment, payment type,
     unearned type, family) a newer sync run wrote. Each input's changed rows are joined back to
     the splits by key: one condition over all the joined inputs (`s._sync_run_id > N OR
     p._sync_run_id > N ...`) could not be pushed below the joins, so every run joined every split
     with its inputs first (7 s on PostgreSQL at 18M source rows, whatever the change). */
  SELECT s.split_id
  FROM staging.stg_paysplit AS s
  WHERE @changed_since_last_run(s._sync_run_id)
  UNION
  SELECT s.split_id
  FROM staging.stg_payment AS p
  JOIN staging.stg_paysplit AS s
    ON s.payment_id = p.payment_id
  WHERE @changed_since_last_run(p._sync_run_id)
  UNION
  SELECT s.split_id
  FROM staging.stg_definition AS pt
  JOIN staging.stg_payment AS p
    ON p.pay_type_def_id = pt.definition_id
  JOIN staging.stg_paysplit AS s
    ON s.payment_id = p.payment_id
  WHERE
    @input_changed(staging.stg_definition, _sync_run_id)
    AND pt.category_label = 'PaymentTypes'
    AND @changed_since_last_run(pt._sync_run_id)
  UNION
  SELECT s.split_id
  FROM staging.stg_definition AS ut
  JOIN staging.stg_paysplit AS s
    ON s.unearned_type_def_id = ut.definition_id
  WHERE
    @input_changed(staging.stg_definition, _sync_run_id)
    AND ut.category_label = 'PaySplitUnearnedType'
    AND @changed_since_last_run(ut._sync_run_id)
  UNION
  SELECT s.split_id
  FROM intermediate.int_families AS fam
  JOIN staging.stg_paysplit AS s
    ON s.patient_id = fam.patient_id
  WHERE @changed_since_last_run(fam._changed_run)
)
SELECT
  s.split_id, -- paysplit.SplitNum
  s.payment_id, -- payment.PayNum
  s.patient_id, -- the patient the split is applied to
  COALESCE(fam.guarantor_id, s.patient_id) AS guarantor_id, -- the family
  s.provider_id, -- the provider credited (0 = unassigned)
  s.clinic_id, -- the clinic credited
  s.procedure_id, -- the procedure paid (0 = not attached)
  s.payment_plan_id, -- the payment plan (0 = none)
  s.date_pay, -- paysplit.DatePay: the date patient income counts on
  s.split_amt, -- the split amount (negative for refunds and transfers out)
  s.unearned_type_def_id <> 0 AS is_unearned, -- UnearnedType set: a prepayment held for the family, not income until transferred onto charges
  s.unearned_type_def_id, -- definition of category PaySplitUnearnedType (0 = earned)
  ut.item_name AS unearned_type_name, -- e.g. Prepayment
  p.pay_type_def_id, -- definition of category PaymentTypes (0 = income transfer)
  CASE WHEN p.pay_type_def_id = 0 THEN 'Income transfer' ELSE pt.item_name END AS pay_type_name, -- e.g. Check, Credit Card; Income transfer for PayType 0
  COALESCE(p.pay_type_def_id = 0, FALSE) AS is_income_transfer, -- PayType 0: money moved between charges, prepayments or family members, not new money
  p.pay_date, -- the payment's date
  p.pay_amt, -- the whole payment (the sum of its splits)
  CASE WHEN s.unearned_type_def_id = 0 THEN s.split_amt ELSE 0 END AS patient_income, -- earned patient income: SplitAmt of splits with UnearnedType 0, on DatePay
  CASE WHEN s.unearned_type_def_id <> 0 THEN s.split_amt ELSE 0 END AS unearned_income, -- unearned income (prepayments): SplitAmt of splits with UnearnedType set, on DatePay; reported apart from income
  GREATEST(s._sync_run_id, COALESCE(p._sync_run_id, -1), COALESCE(pt._sync_run_id, -1), COALESCE(ut._sync_run_id, -1), COALESCE(fam._changed_run, -1)) AS _changed_run -- the newest sync run among the row's inputs: what the next run compares with
FROM staging.stg_paysplit AS s
LEFT JOIN staging.stg_payment AS p
  ON p.payment_id = s.payment_id
LEFT JOIN staging.stg_definition AS pt
  ON pt.definition_id = p.pay_type_def_id AND pt.category_label = 'PaymentTypes'
LEFT JOIN staging.stg_definition AS ut
  ON ut.definition_id = s.unearned_type_def_id AND ut.category_label = 'PaySplitUnearnedType'
LEFT JOIN intermediate.int_families AS fam
  ON fam.patient_id = s.patient_id
WHERE @when_incremental(s.split_id IN (SELECT split_id FROM changed));

@delete_vanished(split_id, raw.paysplit, _changed_run);

@key_index(split_id);

/* production_income_daily reads the rows of the groups it recomputes by it */
@lookup_index(date_pay, provider_id, clinic_id);

@lookup_index(guarantor_id, date_pay);

@run_index(_changed_run);
