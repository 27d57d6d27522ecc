MODEL (
  name marts.fact_communication,
  kind VIEW,
  grain commlog_id,
  audits (primary_key(column := commlog_id)),
  description 'One row per logged patient communication (commlog), without notes. A view: it holds no data of its own, so runs never rebuild it.'
);

SELECT
  commlog_id, -- commlog.CommlogNum
  patient_id, -- the patient
  comm_date, -- the day
  comm_date_time, -- when
  comm_type, -- type from definition category CommLogTypes
  mode_label AS mode, -- Email, Mail, Phone, InPerson, Text ...
  sent_or_received_label AS direction, -- Sent, Received, Neither
  comm_source_label AS source, -- User, ApptReminder, WebSched ...
  user_id -- the user who logged it
FROM intermediate.int_communications
