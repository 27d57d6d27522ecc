"""The synthetic practice's economics look like a real general practice's (bands, not numbers).

Each figure is computed here from the raw tables the way a practice would compute it, and checked
against the range real practices report: dentists produce most of the money, providers earn what
dentists and hygienists earn per scheduled hour, exams find treatment and patients accept most of
it, appointments sit on their provider's schedule, and a broken appointment keeps its production.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from dental_etl.synthetic import GeneratorConfig, catalog, generate_practice

TODAY = date(2025, 6, 30)
YEAR_AGO = TODAY - timedelta(days=365)
RESTORATIVE = {code for code, _ in catalog.FINDINGS} | {"D2950", "D9223"}
CHARGES = {"D9986", "D9987", "MEMB"}


@pytest.fixture(scope="module")
def t() -> dict[str, pl.DataFrame]:
    return generate_practice(GeneratorConfig(seed=5, patients=4_000, today=TODAY)).tables


def procedures(t: dict[str, pl.DataFrame]) -> pl.DataFrame:
    codes = t["procedurecode"].select("CodeNum", "ProcCode", "AbbrDesc", "TreatArea")
    return (
        t["procedurelog"]
        .join(codes, on="CodeNum")
        .with_columns(_amount=pl.col("ProcFee") * (pl.col("UnitQty") + pl.col("BaseUnits")))
    )


def last_year_done(t: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return procedures(t).filter(
        (pl.col("ProcStatus") == 2) & pl.col("ProcDate").is_between(YEAR_AGO, TODAY, closed="left")
    )


def roles(t: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return t["provider"].select(
        "ProvNum",
        _role=pl.when(pl.col("Abbr").str.starts_with("DR")).then(pl.lit("dentist")).otherwise(pl.lit("hyg")),
    )


def active_patients(t: dict[str, pl.DataFrame]) -> int:
    return last_year_done(t).filter(~pl.col("ProcCode").is_in(CHARGES))["PatNum"].n_unique()


def test_dentists_produce_two_thirds_of_the_practice(t):
    by_role = last_year_done(t).join(roles(t), on="ProvNum").group_by("_role").agg(pl.col("_amount").sum())
    amounts = dict(by_role.iter_rows())
    share = amounts["dentist"] / (amounts["dentist"] + amounts["hyg"])
    assert 0.60 <= share <= 0.80, amounts


def test_production_per_scheduled_hour(t):
    produced = last_year_done(t).join(roles(t), on="ProvNum").group_by("_role").agg(pl.col("_amount").sum())
    hours = (
        t["schedule"]
        .filter((pl.col("SchedType") == 1) & pl.col("SchedDate").is_between(YEAR_AGO, TODAY, closed="left"))
        .join(roles(t), on="ProvNum")
        .group_by("_role")
        .agg(_hours=((pl.col("StopTime") - pl.col("StartTime")).dt.total_seconds() / 3600).sum())
    )
    per_hour = dict(
        produced.join(hours, on="_role").select("_role", pl.col("_amount") / pl.col("_hours")).iter_rows()
    )
    assert 330 <= per_hour["dentist"] <= 650, per_hour
    assert 105 <= per_hour["hyg"] <= 210, per_hour
    # a working day is 7-8 scheduled hours: two blocks, or a morning
    days = (
        t["schedule"]
        .filter(pl.col("SchedType") == 1)
        .group_by("ProvNum", "SchedDate")
        .agg(_h=((pl.col("StopTime") - pl.col("StartTime")).dt.total_seconds() / 3600).sum())
    )
    assert set(days["_h"].unique().to_list()) <= {4.0, 8.0}
    assert (days["_h"] == 8.0).mean() > 0.6


def test_the_roster_follows_the_patients(t):
    """About one dentist per 1,500-2,000 active patients and a hygienist per 700-1,000, counted in
    full-time equivalents (1,550 scheduled hours a year): part-timers are common."""
    active = active_patients(t)
    hours = (
        t["schedule"]
        .filter((pl.col("SchedType") == 1) & pl.col("SchedDate").is_between(YEAR_AGO, TODAY, closed="left"))
        .join(roles(t), on="ProvNum")
        .group_by("_role")
        .agg(
            _fte=((pl.col("StopTime") - pl.col("StartTime")).dt.total_seconds() / 3600).sum() / 1_550,
            _people=pl.col("ProvNum").n_unique(),
            _days=pl.struct("ProvNum", "SchedDate").n_unique(),
        )
    )
    per = {role: row for role, *row in hours.iter_rows()}
    assert 1_200 <= active / per["dentist"][0] <= 2_600, (active, per)
    assert 550 <= active / per["hyg"][0] <= 1_150, (active, per)
    # nobody works more than five days a week
    for _, people, days in per.values():
        assert days / people <= 5 * 52


def test_a_toy_practice_has_a_dentist_and_a_hygienist_at_every_clinic():
    toy = generate_practice(GeneratorConfig(seed=2, patients=150, today=TODAY, clinics=3)).tables
    staff = (
        roles(toy)
        .join(toy["provider"].select("ProvNum", "IsHidden"), on="ProvNum")
        .filter(pl.col("IsHidden") == 0)
    )
    assert staff.group_by("_role").len()["len"].to_list() == [1, 1]
    scheduled = toy["schedule"].filter(pl.col("SchedType") == 1).join(roles(toy), on="ProvNum")
    for role in ("dentist", "hyg"):
        assert set(scheduled.filter(pl.col("_role") == role)["ClinicNum"].unique().to_list()) == {1, 2, 3}


def test_every_appointment_is_on_its_providers_schedule(t):
    assert_on_schedule(t)


@pytest.mark.parametrize(("patients", "clinics"), [(150, 3), (60, 20)])
def test_tiny_practices_keep_every_appointment_on_the_schedule(patients, clinics):
    assert_on_schedule(
        generate_practice(GeneratorConfig(seed=4, patients=patients, today=TODAY, clinics=clinics)).tables
    )


def assert_on_schedule(t: dict[str, pl.DataFrame]) -> None:
    """Every appointment on the book is inside a block its provider works at its clinic that day."""
    appts = t["appointment"].filter(
        pl.col("AptStatus").is_in([1, 2, 3, 5])
        & (pl.col("AptDateTime").dt.date() <= TODAY + timedelta(days=60))
    )
    appts = appts.with_columns(
        _prov=pl.when(pl.col("IsHygiene") == 1).then("ProvHyg").otherwise("ProvNum"),
        _day=pl.col("AptDateTime").dt.date(),
        _at=pl.col("AptDateTime").dt.time().cast(pl.Duration("us")),
    )
    blocks = (
        t["schedule"]
        .filter(pl.col("SchedType") == 1)
        .select("ProvNum", "ClinicNum", "SchedDate", "StartTime", "StopTime")
    )
    placed = appts.join(
        blocks,
        left_on=["_prov", "ClinicNum", "_day"],
        right_on=["ProvNum", "ClinicNum", "SchedDate"],
        how="left",
    ).filter(pl.col("_at").is_between(pl.col("StartTime"), pl.col("StopTime"), closed="left"))
    assert placed["AptNum"].n_unique() == appts.height
    holidays = set(
        t["schedule"].filter((pl.col("SchedType") == 0) & (pl.col("Status") == 2))["SchedDate"].to_list()
    )
    assert holidays and not holidays & set(appts["_day"].to_list())


def test_exams_find_treatment_and_most_of_it_is_accepted(t):
    procs = procedures(t)
    adults = (
        t["patient"].filter(pl.col("Birthdate") < pl.lit(TODAY - timedelta(days=18 * 365))).select("PatNum")
    )
    exams = (
        procs.filter((pl.col("ProcCode") == "D0120") & (pl.col("ProcStatus") == 2))
        .join(adults, on="PatNum")
        .select("PatNum", _exam=pl.col("ProcDate"))
    )
    found = (
        procs.filter(pl.col("ProcCode").is_in(RESTORATIVE))
        .group_by("PatNum", _exam=pl.col("DateTP"))
        .agg(_n=pl.len())
    )
    at_exams = exams.join(found, on=["PatNum", "_exam"], how="left").with_columns(pl.col("_n").fill_null(0))
    assert 0.25 <= (at_exams["_n"] > 0).mean() <= 0.45
    assert 1.5 <= at_exams.filter(pl.col("_n") > 0)["_n"].mean() <= 3.2

    # case acceptance of restorative work planned 2-14 months ago: completed, or on a scheduled appointment
    window = procs.filter(
        pl.col("ProcCode").is_in(RESTORATIVE)
        & pl.col("ProcStatus").is_in([1, 2, 8])
        & pl.col("DateTP").is_between(TODAY - timedelta(days=425), TODAY - timedelta(days=60))
    ).join(t["appointment"].select("AptNum", "AptStatus"), on="AptNum", how="left")
    accepted = (pl.col("ProcStatus") == 2) | ((pl.col("ProcStatus") == 1) & (pl.col("AptStatus") == 1))
    rate = window.filter(accepted)["_amount"].sum() / window["_amount"].sum()
    assert 0.55 <= rate <= 0.78, rate
    # done within days to a few months of the exam; what is not accepted is still waiting (TP, TPi)
    done = window.filter(pl.col("ProcStatus") == 2).select(
        (pl.col("ProcDate") - pl.col("DateTP")).dt.total_days()
    )
    assert 7 <= done.to_series().median() <= 60
    assert done.to_series().quantile(0.9) <= 180
    assert window.filter(pl.col("ProcStatus") == 8).height > 0


def test_restorative_work_is_substantial(t):
    done = last_year_done(t)
    active = active_patients(t)
    codes = done.group_by("ProcCode").len()
    count = dict(codes.iter_rows())
    crowns = count.get("D2740", 0) + count.get("D2750", 0)
    fillings = sum(count.get(c, 0) for c in ("D2140", "D2150", "D2330", "D2331", "D2391", "D2392", "D2393"))
    assert 0.025 <= crowns / active <= 0.12, (crowns, active)
    assert 0.2 <= fillings / active <= 0.9, (fillings, active)


def test_broken_appointments_keep_their_production(t):
    procs = procedures(t)
    appts = t["appointment"]
    broken = appts.filter(pl.col("AptStatus").is_in([3, 5]) & (pl.col("AptDateTime").dt.date() < TODAY))
    attached = (
        procs.filter(pl.col("AptNum") > 0)
        .group_by("AptNum")
        .agg(_n=pl.len(), _amount=pl.col("_amount").sum(), _statuses=pl.col("ProcStatus").unique())
    )
    kept = broken.join(attached, on="AptNum", how="inner")
    # never rebooked: still planned (TP), attached, with their fees; the others' went to the new appointment
    assert 0.2 <= kept.height / broken.height <= 0.8, (kept.height, broken.height)
    assert kept["_statuses"].list.eval(pl.element() == 1).list.all().all()
    assert kept["_amount"].sum() > 0
    # no completed work sits on an appointment that did not happen
    not_done = appts.filter(pl.col("AptStatus") != 2).select("AptNum")
    assert procs.join(not_done, on="AptNum").filter(pl.col("ProcStatus") == 2).is_empty()


def od_descript() -> pl.Expr:
    """OpenDental's per-procedure text in ProcDescript (Appointments.SetProcDescript)."""
    return (
        pl.when(pl.col("TreatArea") == 1)
        .then(pl.format("#{}-{}-{}", "ToothNum", "Surf", "AbbrDesc"))
        .when(pl.col("TreatArea") == 2)
        .then(pl.format("#{}-{}", "ToothNum", "AbbrDesc"))
        .when(pl.col("TreatArea").is_in([4, 6]))
        .then(pl.format("{}-{}", "Surf", "AbbrDesc"))
        .otherwise(pl.col("AbbrDesc"))
    )


def test_appointments_describe_their_attached_procedures(t):
    procs = procedures(t).with_columns(_one=od_descript())
    attached = procs.with_columns(
        _apt=pl.when(pl.col("AptNum") > 0).then("AptNum").otherwise("PlannedAptNum")
    ).filter(pl.col("_apt") > 0)
    expected = (
        attached.sort("ProcNum")
        .group_by("_apt", maintain_order=True)
        .agg(
            _descript=pl.col("_one").str.join(", "),
            _colored=pl.format('<span color="-16777216">{}</span>', "_one").str.join(""),
        )
    )
    appts = (
        t["appointment"]
        .join(expected, left_on="AptNum", right_on="_apt", how="left")
        .with_columns(pl.col("_descript", "_colored").fill_null(""))
    )
    assert (appts["ProcDescript"] == appts["_descript"]).all()
    assert (appts["ProcsColored"] == appts["_colored"]).all()
    assert appts.filter(pl.col("AptStatus") == 6)["ProcDescript"].str.len_chars().min() > 0
