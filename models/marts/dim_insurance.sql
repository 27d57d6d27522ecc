MODEL (
  name marts.dim_insurance,
  kind FULL,
  grain plan_id,
  audits (primary_key(column := plan_id)),
  description 'One row per insurance plan (insplan) with its carrier and how many patients it covers.'
);

WITH covered AS (
  SELECT s.plan_id, COUNT(DISTINCT pp.patient_id) AS patients_covered
  FROM staging.stg_patplan AS pp
  JOIN staging.stg_inssub AS s
    ON s.ins_sub_id = pp.ins_sub_id
  GROUP BY 1
)
SELECT
  i.plan_id, -- insplan.PlanNum
  i.carrier_id, -- carrier.CarrierNum
  c.carrier_name, -- the insurance company
  i.group_name, -- the employer group name
  i.group_num, -- the group number
  i.plan_type_label AS plan_type, -- insplan.PlanType decoded: Category percentage, PPO percentage, Flat copay, Capitation
  i.is_medical, -- a medical (not dental) plan
  i.is_hidden, -- hidden in OpenDental
  COALESCE(cv.patients_covered, 0) AS patients_covered -- patients with this plan on their insurance list (patplan)
FROM staging.stg_insplan AS i
LEFT JOIN staging.stg_carrier AS c
  ON c.carrier_id = i.carrier_id
LEFT JOIN covered AS cv
  ON cv.plan_id = i.plan_id
