"""The synthetic practice behaves like a dental office (what the models' KPIs will look for)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dental_etl.synthetic import GeneratorConfig, generate_practice

TODAY = date(2025, 6, 30)


@pytest.fixture(scope="module")
def t():
    return generate_practice(GeneratorConfig(seed=3, patients=400, today=TODAY)).tables


def defs(t, category: int) -> set[int]:
    return set(t["definition"].filter(pl.col("Category") == category)["DefNum"].to_list())


def test_families_have_adult_guarantors_who_exist(t):
    pat = t["patient"]
    guarantors = pat.filter(pl.col("PatNum") == pl.col("Guarantor"))
    assert 0.3 * pat.height < guarantors.height < 0.8 * pat.height
    assert set(pat["Guarantor"].to_list()) <= set(guarantors["PatNum"].to_list())
    members = pat.filter(pl.col("PatNum") != pl.col("Guarantor"))
    for col in ("Bal_0_30", "Bal_31_60", "Bal_61_90", "BalOver90", "BalTotal", "InsEst"):
        assert (members[col] == 0).all(), col
    assert guarantors.filter(pl.col("BalTotal") != 0).height > 0
    assert guarantors.filter(pl.col("BalTotal") < 0).height > 0  # credits exist too


def test_procedure_statuses_and_codes(t):
    procs = t["procedurelog"]
    assert set(procs["ProcStatus"].unique().to_list()) == {1, 2, 3, 4, 5, 6, 7, 8}
    codes = t["procedurecode"].select("CodeNum", "ProcCode")
    done = procs.filter(pl.col("ProcStatus") == 2).join(codes, on="CodeNum")
    assert {"D9986", "D9987", "D0150", "D0120", "D1110", "D2391", "D2740"} <= set(done["ProcCode"].to_list())
    # treatment planned on one day, completed later: DateTP before ProcDate
    tp_then_done = done.filter(pl.col("DateTP").is_not_null() & (pl.col("DateTP") < pl.col("ProcDate")))
    assert tp_then_done.height > 0.03 * done.height
    # future scheduled work is still TP and attached to a scheduled appointment
    future = procs.filter(pl.col("ProcDate") >= TODAY)
    assert (future["ProcStatus"] != 2).all()
    assert procs.filter((pl.col("ProcStatus") == 1) & (pl.col("AptNum") > 0)).height > 0


def test_fees_come_from_the_fee_schedule_and_units_vary(t):
    procs = t["procedurelog"].filter(pl.col("ProcStatus") == 2)
    pat = t["patient"].select("PatNum", pl.col("FeeSched").alias("_pat_sched"), "PriProv")
    prov = t["provider"].select(pl.col("ProvNum").alias("PriProv"), pl.col("FeeSched").alias("_prov_sched"))
    fees = t["fee"].select(pl.col("FeeSched").alias("_sched"), "CodeNum", "Amount")
    joined = (
        procs.join(pat, on="PatNum")
        .join(prov, on="PriProv")
        .with_columns(_sched=pl.when(pl.col("_pat_sched") > 0).then("_pat_sched").otherwise("_prov_sched"))
        .join(fees, on=["_sched", "CodeNum"])
    )
    assert joined.height == procs.height
    assert (joined["ProcFee"] == joined["Amount"]).all()
    units = procs["UnitQty"].value_counts()
    share_one = units.filter(pl.col("UnitQty") == 1)["count"].item() / procs.height
    assert share_one > 0.95
    assert procs.filter(pl.col("UnitQty").is_in([2, 3])).height > 0
    assert procs.filter(pl.col("BaseUnits") > 0).height > 0
    assert (procs["BaseUnits"] == 0).mean() > 0.95


def test_broken_appointments_and_their_history(t):
    appts, hist = t["appointment"], t["histappointment"]
    assert {1, 2, 3, 5, 6} <= set(appts["AptStatus"].unique().to_list())
    assert set(hist["HistApptAction"].unique().to_list()) == {0, 1, 2, 3, 4}
    broken_in_history = set(hist.filter(pl.col("HistApptAction").is_in([2, 3]))["AptNum"].to_list())
    broken_now = set(appts.filter(pl.col("AptStatus") == 5)["AptNum"].to_list())
    # some were moved back onto the schedule: broken in history, not broken now
    assert broken_in_history - broken_now
    deleted = set(hist.filter(pl.col("HistApptAction") == 4)["AptNum"].to_list())
    assert deleted and not deleted & set(appts["AptNum"].to_list())
    assert (appts.filter(pl.col("AptStatus") == 1)["AptDateTime"].dt.date() >= TODAY).all()
    assert (appts.filter(pl.col("AptStatus") == 2)["AptDateTime"].dt.date() < TODAY).all()


def test_insurance_flow(t):
    cp = t["claimproc"]
    assert {0, 1, 4, 6} <= set(cp["Status"].unique().to_list())
    received = cp.filter(pl.col("Status") == 1)
    assert (received["InsPayAmt"] > 0).mean() > 0.8
    assert (received["WriteOff"] > 0).mean() > 0.3  # PPO write-offs
    assert received.filter(pl.col("ClaimPaymentNum") == 0).height > 0  # not yet on a check
    on_check = (
        cp.filter(pl.col("ClaimPaymentNum") > 0).group_by("ClaimPaymentNum").agg(pl.col("InsPayAmt").sum())
    )
    checks = t["claimpayment"].join(on_check, on="ClaimPaymentNum")
    assert checks.height == t["claimpayment"].height
    assert ((checks["CheckAmt"] - checks["InsPayAmt"]).abs() < 0.005).all()
    estimates = cp.filter(pl.col("Status") == 6).join(
        t["procedurelog"].select("ProcNum", "ProcStatus"), on="ProcNum"
    )
    assert (estimates["ProcStatus"] == 1).all() and estimates.height > 0
    assert set(t["claim"]["ClaimStatus"].unique().to_list()) <= {"U", "H", "W", "P", "S", "R", "I"}


def test_payments_split_and_unearned(t):
    pays, splits = t["payment"], t["paysplit"]
    sums = splits.group_by("PayNum").agg(pl.col("SplitAmt").sum())
    joined = pays.join(sums, on="PayNum", how="left")
    assert ((joined["PayAmt"] - joined["SplitAmt"].fill_null(0)).abs() < 0.005).all()
    assert (splits.group_by("PayNum").len()["len"] > 1).any()
    unearned = splits.filter(pl.col("UnearnedType") != 0)
    assert unearned.height > 0
    assert set(unearned["UnearnedType"].to_list()) <= defs(t, 29)
    transfers = pays.filter(pl.col("PayType") == 0)
    assert transfers.height > 0 and (transfers["PayAmt"] == 0).all()
    assert set(pays.filter(pl.col("PayType") != 0)["PayType"].to_list()) <= defs(t, 10)


def test_adjustments_both_signs_with_matching_types(t):
    adj = t["adjustment"].join(
        t["definition"].select(pl.col("DefNum").alias("AdjType"), "ItemValue", "Category"), on="AdjType"
    )
    assert adj.height == t["adjustment"].height and (adj["Category"] == 1).all()
    assert (adj.filter(pl.col("AdjAmt") > 0)["ItemValue"] == "+").all()
    assert (adj.filter(pl.col("AdjAmt") < 0)["ItemValue"] == "-").all()
    assert adj.filter(pl.col("AdjAmt") > 0).height and adj.filter(pl.col("AdjAmt") < 0).height


def test_recall_intervals_and_due_dates(t):
    recall = t["recall"]
    assert {393216, 196608, 16777216} <= set(recall["RecallInterval"].to_list())
    six = recall.filter((pl.col("RecallInterval") == 393216) & (pl.col("DatePrevious") > date(1, 1, 1)))
    assert (six["DateDueCalc"] == six["DatePrevious"].dt.offset_by("6mo")).all()
    # the last completed hygiene visit is the recall's previous date
    appts = t["appointment"].filter((pl.col("AptStatus") == 2) & (pl.col("IsHygiene") == 1))
    last = appts.group_by("PatNum").agg(_last=pl.col("AptDateTime").max().dt.date())
    joined = six.join(last, on="PatNum")
    assert (joined["DatePrevious"] == joined["_last"]).all()


def test_big_tables_in_real_proportions():
    tables = generate_practice(GeneratorConfig(seed=1, patients=3000, today=TODAY)).tables
    sizes = {name: frame.height for name, frame in tables.items()}
    # securitylog largest; then paysplit, commlog and procedurelog (close to each other, as in the
    # real practice), then payment, adjustment, claimproc
    assert max(sizes, key=sizes.get) == "securitylog"
    third = min(sizes["paysplit"], sizes["commlog"], sizes["procedurelog"])
    assert third > 1.2 * sizes["payment"] > 1.2 * sizes["adjustment"] > 1.2 * sizes["claimproc"], sizes
