MODEL (
  name intermediate.int_communications,
  kind INCREMENTAL_BY_UNIQUE_KEY (unique_key commlog_id),
  grain commlog_id,
  audits (primary_key(column := commlog_id)),
  description 'Patient communications (commlog) with their type from definition category CommLogTypes, mode and direction. Notes stay in raw (free text, PHI). Incremental: merges the commlogs whose inputs a newer sync run wrote, deletes the ones gone from staging.'
);

SELECT
  c.commlog_id, -- commlog.CommlogNum
  c.patient_id, -- the patient
  c.comm_date_time, -- when it happened
  CAST(c.comm_date_time AS DATE) AS comm_date, -- the day
  c.comm_type_def_id, -- definition of category CommLogTypes
  t.item_name AS comm_type, -- e.g. Appointment Related, Financial, Recall
  c.mode, -- Mode_ code (0 None, 1 Email, 2 Mail, 3 Phone, 4 InPerson, 5 Text, ...)
  c.mode_label, -- Mode_ label
  c.sent_or_received, -- 0 Neither, 1 Sent, 2 Received
  c.sent_or_received_label, -- direction label
  c.comm_source_label, -- who made the entry: User, ApptReminder, WebSched ...
  c.user_id, -- the user who logged it
  GREATEST(c._sync_run_id, COALESCE(t._sync_run_id, -1)) AS _changed_run -- the newest sync run among the row's inputs: what the next run compares with
FROM staging.stg_commlog AS c
LEFT JOIN staging.stg_definition AS t
  ON t.definition_id = c.comm_type_def_id AND t.category_label = 'CommLogTypes'
WHERE
  @when_incremental(
    /* the commlogs a newer sync run wrote, and those of a changed type: two branches joined back by
       key, where an OR over the join was planned as a third of the table */
    c.commlog_id IN (
      SELECT commlog_id FROM staging.stg_commlog WHERE @changed_since_last_run(_sync_run_id)
      UNION ALL
      SELECT cl.commlog_id
      FROM staging.stg_definition AS d
      JOIN staging.stg_commlog AS cl
        ON cl.comm_type_def_id = d.definition_id
      WHERE
        @input_changed(staging.stg_definition, _sync_run_id)
        AND d.category_label = 'CommLogTypes'
        AND @changed_since_last_run(d._sync_run_id)
    )
  );

@delete_vanished(commlog_id, raw.commlog, _changed_run);

@key_index(commlog_id);

@run_index(_changed_run);
