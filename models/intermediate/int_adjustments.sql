MODEL (
  name intermediate.int_adjustments,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key adjustment_id),
  grain adjustment_id,
  audits (primary_key(column := adjustment_id)),
  description 'Account adjustments with their type from definition category AdjTypes; positive ones are charges, negative ones credits. Incremental: merges the rows whose inputs a newer sync run wrote, deletes the ones gone from its input.'
);

/* before the merge and the delete overwrite them: the day, provider and clinic an adjustment whose
   own row changed, or that is gone, counted in, for production_income_daily to recompute */
@remember_groups(
  'production',
  m.adj_date,
  m.provider_id,
  m.clinic_id,
  m.adjustment_id IN (
    SELECT adjustment_id FROM staging.stg_adjustment WHERE @changed_since_last_run(_sync_run_id)
    UNION ALL
    SELECT key_value FROM @vanished_log() WHERE table_name = 'adjustment'
  )
);

SELECT
  a.adjustment_id, -- adjustment.AdjNum
  a.patient_id, -- the patient
  COALESCE(fam.guarantor_id, a.patient_id) AS guarantor_id, -- the family
  a.provider_id, -- the provider credited
  a.clinic_id, -- the clinic
  a.procedure_id, -- the procedure adjusted (0 = none)
  a.adj_date, -- the date the adjustment counts on
  a.adj_amt, -- the amount: positive adds to the balance (charge), negative takes off it (credit)
  a.adj_type_def_id, -- definition of category AdjTypes
  t.item_name AS adj_type_name, -- e.g. Discount, Finance charge
  a.adj_amt > 0 AS is_charge, -- positive adjustment
  GREATEST(a._sync_run_id, COALESCE(t._sync_run_id, -1), COALESCE(fam._changed_run, -1)) AS _changed_run -- the newest sync run among the row's inputs: what the next run compares with
FROM staging.stg_adjustment AS a
LEFT JOIN staging.stg_definition AS t
  ON t.definition_id = a.adj_type_def_id AND t.category_label = 'AdjTypes'
LEFT JOIN intermediate.int_families AS fam
  ON fam.patient_id = a.patient_id
WHERE
  @when_incremental(
    /* the adjustments a newer sync run wrote, those of a changed type and those of a patient whose
       family changed: one branch per input joined back by key, where an OR over the joined inputs
       was planned as a third of the table */
    a.adjustment_id IN (
      SELECT adjustment_id FROM staging.stg_adjustment WHERE @changed_since_last_run(_sync_run_id)
      UNION ALL
      SELECT aa.adjustment_id
      FROM staging.stg_definition AS d
      JOIN staging.stg_adjustment AS aa
        ON aa.adj_type_def_id = d.definition_id
      WHERE
        @input_changed(staging.stg_definition, _sync_run_id)
        AND d.category_label = 'AdjTypes'
        AND @changed_since_last_run(d._sync_run_id)
      UNION ALL
      SELECT aa.adjustment_id
      FROM intermediate.int_families AS f
      JOIN staging.stg_adjustment AS aa
        ON aa.patient_id = f.patient_id
      WHERE @changed_since_last_run(f._changed_run)
    )
  );

@delete_vanished(adjustment_id, raw.adjustment, _changed_run);

@key_index(adjustment_id);

/* production_income_daily reads the rows of the groups it recomputes by it */
@lookup_index(adj_date, provider_id, clinic_id);

@run_index(_changed_run);
