MODEL (
  name marts.dim_provider,
  kind FULL,
  grain provider_id,
  audits (primary_key(column := provider_id)),
  description 'One row per provider (dentists, hygienists, and non-person billing providers).'
);

SELECT
  p.provider_id, -- provider.ProvNum
  p.abbr, -- the short name used on the schedule
  p.first_name, -- first name
  p.last_name, -- last name
  COALESCE(NULLIF(TRIM(CONCAT(p.first_name, ' ', p.last_name)), ''), p.abbr) AS display_name, -- first and last name, or the abbreviation
  s.item_name AS specialty, -- from definition category ProviderSpecialties
  p.is_secondary AS is_hygienist, -- OpenDental marks hygienists as secondary providers
  p.is_hidden, -- hidden in OpenDental's lists
  p.is_not_person, -- a billing entity rather than a person
  p.prov_status_label AS status, -- Active or Deleted
  p.hourly_prod_goal_amt AS hourly_production_goal, -- the provider's production goal per hour
  p.date_term AS termination_date -- the date the provider left (NULL = still working)
FROM staging.stg_provider AS p
LEFT JOIN staging.stg_definition AS s
  ON s.definition_id = p.specialty_def_id AND s.category_label = 'ProviderSpecialties'
