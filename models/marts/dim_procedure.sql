MODEL (
  name marts.dim_procedure,
  kind FULL,
  grain procedure_code_id,
  audits (primary_key(column := procedure_code_id)),
  description 'One row per procedure code (procedurecode), with its category from definition category ProcCodeCats.'
);

SELECT
  c.procedure_code_id, -- procedurecode.CodeNum
  c.proc_code, -- the CDT code, e.g. D1110
  c.descript AS description, -- the code's description
  c.abbr_desc AS abbreviation, -- short description
  cat.item_name AS category, -- e.g. Diagnostic, Preventive, Restorative
  c.is_hygiene, -- counted as hygiene
  c.is_prosth, -- a prosthesis
  c.is_radiology, -- an image/radiograph
  c.treat_area_label AS treatment_area, -- Surf, Tooth, Mouth, Quad ...
  c.base_units, -- base units added to every procedure of this code
  c.proc_code IN ('D9986', 'D9987') AS is_broken_appointment_charge -- D9986 missed / D9987 cancelled appointment
FROM staging.stg_procedurecode AS c
LEFT JOIN staging.stg_definition AS cat
  ON cat.definition_id = c.proc_cat_def_id AND cat.category_label = 'ProcCodeCats'
