"""How OpenDental column names become staging column names.

Rules, in order (the first that applies wins):
1. an explicit override (`OVERRIDES`, by `table.Column` or by `Column` for every table);
2. the table's primary key -> `<entity>_id` (`procedurelog.ProcNum` -> `procedure_id`);
3. a foreign key spelled like the target's primary key or named after the target table -> the
   target's `<entity>_id` (`appointment.PatNum` -> `patient_id`, `patient.FeeSched` -> `fee_schedule_id`);
4. a `definition` reference -> `<snake>_def_id` (`payment.PayType` -> `pay_type_def_id`), so a reader
   sees at once that the value is a DefNum to look up by category, never a code;
5. any other foreign key -> `<snake without Num>_id` (`patient.Guarantor` -> `guarantor_id`);
6. the table's change-tracking timestamp -> `updated_at`;
7. otherwise snake_case (`ProcFee` -> `proc_fee`, `SecDateTEntry` -> `sec_datetime_entry`).
Enum and coded columns keep their code under that name and get a `<name>_label` beside it.
"""

from __future__ import annotations

import re

from dental_etl.opendental.schema import Column, Table

# Table -> the entity its primary key identifies.
TABLE_ENTITY = {
    "patient": "patient",
    "appointment": "appointment",
    "procedurelog": "procedure",
    "procedurecode": "procedure_code",
    "provider": "provider",
    "clinic": "clinic",
    "operatory": "operatory",
    "claim": "claim",
    "claimproc": "claim_procedure",
    "claimpayment": "claim_payment",
    "insplan": "plan",
    "inssub": "ins_sub",
    "patplan": "pat_plan",
    "carrier": "carrier",
    "payment": "payment",
    "paysplit": "split",
    "adjustment": "adjustment",
    "fee": "fee",
    "feesched": "fee_schedule",
    "definition": "definition",
    "commlog": "commlog",
    "recall": "recall",
    "recalltype": "recall_type",
    "document": "document",
    "treatplan": "treatment_plan",
    "proctp": "proc_tp",
    "statement": "statement",
    "schedule": "schedule",
    "userod": "user",
    "histappointment": "hist_appointment",
    "appointmenttype": "appointment_type",
    "payplan": "payment_plan",
    "payplancharge": "payment_plan_charge",
    "benefit": "benefit",
    "refattach": "ref_attach",
    "referral": "referral",
    "securitylog": "security_log",
    "entrylog": "entry_log",
    "procnote": "procedure_note",
    "sheet": "sheet",
    "task": "task",
    "employee": "employee",
    "claimform": "claim_form",
    "tasklist": "task_list",
}

OVERRIDES = {
    # every table
    "SecUserNumEntry": "entry_user_id",
    "PriProv": "primary_provider_id",
    "SecProv": "secondary_provider_id",
    "ProvHyg": "hygienist_id",
    "ProvTreat": "treating_provider_id",
    "ProvBill": "billing_provider_id",
    "Op": "operatory_id",
    "NextAptNum": "next_appointment_id",
    "PlannedAptNum": "planned_appointment_id",
    "ResponsParty": "responsible_party_id",
    "Mode_": "mode",
    "DateTP": "date_tp",
    "LName": "last_name",
    "FName": "first_name",
    "MiddleI": "middle_initial",
    "MName": "middle_name",
    "FKey": "fkey",
    # one table
    "procedurelog.ProcNumLab": "lab_procedure_id",
    "claim.PlanNum2": "plan2_id",
    "claim.InsSubNum2": "ins_sub2_id",
    "claim.PatRelat2": "pat_relat2",
    "claim.ReferringProv": "referring_referral_id",
    "inssub.Subscriber": "subscriber_patient_id",
    "inssub.SubscriberID": "subscriber_member_id",
    "patplan.PatID": "patient_member_id",
    "proctp.ProcNumOrig": "orig_procedure_id",
    "treatplan.UserNumPresenter": "presenter_user_id",
    "histappointment.HistUserNum": "hist_user_id",
    "histappointment.AptNum": "appointment_id",
    "histappointment.Confirmed": "confirmed_def_id",
    "histappointment.UnschedStatus": "unsched_status_def_id",
    "task.PriorityDefNum": "priority_def_id",
    "histappointment.HistDateTStamp": "hist_datetime",
    "operatory.ProvDentist": "dentist_id",
    "operatory.ProvHygienist": "hygienist_id",
    "userod.UserNumCEMT": "cemt_user_id",
    "provider.ProvNumBillingOverride": "billing_override_provider_id",
    "procedurecode.ProvNumDefault": "default_provider_id",
    "insplan.OrthoAutoProcCodeNumOverride": "ortho_auto_procedure_code_id",
    "clinic.InsBillingProv": "ins_billing_provider_id",
    "clinic.DefaultProv": "default_provider_id",
}

_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake(name: str) -> str:
    """CamelCase -> snake_case, reading OpenDental's `DateT...` prefix as `datetime`."""
    spelled = re.sub(r"DateT(?=[A-Z])", "Datetime", name)
    words = _SPLIT.sub("_", spelled).lower().strip("_")
    return re.sub(r"_+", "_", words)


def entity(table_name: str) -> str:
    return TABLE_ENTITY.get(table_name, table_name)


def staging_name(table: Table, col: Column) -> str:
    """The staging column name for one OpenDental column (see the module docstring)."""
    for key in (f"{table.name}.{col.name}", col.name):
        if key in OVERRIDES:
            return OVERRIDES[key]
    if col.name == table.primary_key:
        return f"{entity(table.name)}_id"
    if col.fk and "." in col.fk:
        target_table, target_col = col.fk.split(".", 1)
        same_key = target_col == col.name and col.name.endswith("Num")
        named_after_table = re.sub(r"num$", "", col.name.lower()) == target_table
        if (same_key or named_after_table) and target_table != table.name:
            return f"{entity(target_table)}_id"
    if col.def_category:
        return f"{snake(col.name)}_def_id"
    if col.fk and col.fk.split(".", 1)[1].endswith("Num"):
        return f"{snake(re.sub(r'Num$', '', col.name))}_id"
    if col.name == table.change_column:
        return "updated_at"
    return snake(col.name)
