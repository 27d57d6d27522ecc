"""Clinical paperwork around the visits: recall, treatment plans (treatplan/proctp), referrals
(refattach), procedure notes, documents (images) and sheets (forms)."""

from __future__ import annotations

import numpy as np
import polars as pl

from dental_etl.synthetic.catalog import packed_interval
from dental_etl.synthetic.people import Patients
from dental_etl.synthetic.rand import DAY, NO_DAY, dates, datetimes, pick
from dental_etl.synthetic.reference import Reference

NOTE_TEMPLATES = {
    "H": (
        "Pt presents for periodic exam and prophy.\r\nMed hx reviewed, no changes. BP {bp}/80.\r\n"
        "Light calculus, gingiva healthy. OHI given.\r\nNV: 6 month recall."
    ),
    "E": (
        "Pt presents with pain {tooth}.\r\nPA taken. Dx discussed; options and risks reviewed.\r\n"
        "NV: as needed."
    ),
    "R": (
        "Procedure completed on #{tooth}.\r\nTopical and 1 carp 2% lido 1:100k epi.\r\n"
        "Isolation, prep, restore, adjust occlusion. Pt tolerated well.\t(no complications)"
    ),
}


def recall(v: pl.DataFrame, p: Patients, ref: Reference, rng: np.random.Generator) -> pl.DataFrame:
    """One recall per hygiene patient (plus a bitewing recall for some adults), due from the last visit."""
    h = v.filter(pl.col("_kind") == "H")
    last_done = h.filter(pl.col("_status") == 2).group_by("PatNum").agg(_prev=pl.col("_day").max())
    booked = h.filter(pl.col("_status") == 1).group_by("PatNum").agg(_sched=pl.col("_day").min())
    pats = pl.DataFrame({"PatNum": np.flatnonzero(p.has_visits) + 1})
    r = pats.join(last_done, on="PatNum", how="left").join(booked, on="PatNum", how="left")
    pat = r["PatNum"].to_numpy() - 1
    kind = np.where(p.child[pat], "Child Prophy", np.where(p.perio[pat], "Perio", "Prophy"))
    bw = ~p.child[pat] & (rng.random(len(pat)) < 0.5)
    r = pl.concat(
        [r.with_columns(_type=pl.Series(kind)), r.filter(pl.Series(bw)).with_columns(_type=pl.lit("4BW"))]
    )
    n = r.height
    pat = r["PatNum"].to_numpy() - 1
    rtype = np.array([ref.recall_type[t] for t in r["_type"].to_list()])
    months = np.select([r["_type"].to_numpy() == "Perio", r["_type"].to_numpy() == "4BW"], [3, 12], 6)
    interval = np.where(
        months == 12, packed_interval(years=1), [packed_interval(months=int(m)) for m in months]
    )
    prev = r["_prev"].fill_null(NO_DAY).to_numpy()
    has_prev = prev != NO_DAY
    prev_date = dates(np.where(has_prev, prev, p.join[pat]))
    due_calc = (
        pl.DataFrame({"d": prev_date, "m": months})
        .select(pl.col("d").dt.offset_by(pl.format("{}mo", pl.col("m"))))
        .to_series()
    )
    due_expr = pl.when(pl.Series(has_prev)).then(due_calc).otherwise(prev_date)
    sched = r["_sched"].fill_null(NO_DAY).to_numpy()
    zero = (sched == NO_DAY) & (rng.random(n) < 0.03)
    stopped = np.isin(p.status[pat], [3, 4, 5]) | ((p.status[pat] == 2) & (rng.random(n) < 0.3))
    overdue = (sched == NO_DAY) & has_prev
    status = np.where(overdue & (rng.random(n) < 0.4), rng.choice(ref.defs.nums("RecallUnschedStatus"), n), 0)
    frame = (
        r.select("PatNum")
        .with_columns(
            RecallTypeNum=pl.Series(rtype),
            RecallInterval=pl.Series(interval),
            DatePrevious=dates(prev),
            RecallStatus=pl.Series(status),
            IsDisabled=pl.Series(stopped.astype(int)),
            _sched=pl.Series(sched),
            _zero=pl.Series(zero),
            _edit=pl.Series(
                np.maximum(np.where(has_prev, prev, p.entry_day[pat]), p.entry_day[pat]).astype(np.int64)
                * DAY
                + 17 * 3600
            ),
        )
        .with_columns(
            DateDueCalc=due_expr,
            DateDue=due_expr,
            DateScheduled=pl.when(pl.col("_zero"))
            .then(None)
            .otherwise(pl.col("_sched").cast(pl.Int32).cast(pl.Date)),
        )
    )
    return (
        frame.sort("PatNum", "RecallTypeNum")
        .with_row_index("RecallNum", offset=1)
        .with_columns(pl.col("RecallNum").cast(pl.Int64))
    )


def treatment_plans(
    procs: pl.DataFrame, ins: pl.DataFrame, p: Patients, ref: Reference, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Saved plans presented at about half the exams that found work; an active plan per patient."""
    found = procs.filter(pl.col("_finding")).with_columns(_exam=pl.col("_tp_day"))
    exams = found.select("PatNum", "_exam").unique().sort("_exam", "PatNum")
    exams = exams.filter(pl.Series(rng.random(exams.height) < 0.5))
    waiting = procs.filter((pl.col("ProcStatus") == 1) & (pl.col("AptNum") == 0)).select("PatNum").unique()
    active = waiting.with_columns(_exam=pl.lit(p.last, pl.Int64), TPStatus=pl.lit(1))
    plans = pl.concat([exams.with_columns(TPStatus=pl.lit(0)), active]).sort("_exam", "PatNum")
    plans = plans.with_row_index("TreatPlanNum", offset=1).with_columns(pl.col("TreatPlanNum").cast(pl.Int64))
    k = plans.height
    pat = plans["PatNum"].to_numpy() - 1
    signed = (plans["TPStatus"].to_numpy() == 0) & (rng.random(k) < 0.4)
    exam_day = plans["_exam"].to_numpy()
    treatplan = plans.with_columns(
        DateTP=dates(exam_day),
        Heading=pl.when(pl.col("TPStatus") == 1)
        .then(pl.lit("Active Treatment Plan"))
        .otherwise(pl.lit("Treatment Plan")),
        ResponsParty=pl.Series(p.guarantor[pat]),
        SignatureText=pl.Series(np.where(signed, "Signed", "")),
        DateTSigned=datetimes(np.where(signed, exam_day.astype(np.int64) * DAY + 15 * 3600, -62135596800)),
        UserNumPresenter=pl.Series(rng.choice(ref.clinical_users, k)),
        SecUserNumEntry=pl.Series(rng.choice(ref.clinical_users, k)),
        SecDateEntry=dates(exam_day),
        _edit=pl.Series(exam_day.astype(np.int64) * DAY + 15 * 3600),
    )
    est = ins.filter(pl.col("Status").is_in([0, 1, 6])).group_by("ProcNum").agg(_ins=pl.col("_est").sum())
    items = (
        found.join(
            plans.filter(pl.col("TPStatus") == 0).select("PatNum", "_exam", "TreatPlanNum"),
            on=["PatNum", "_exam"],
        )
        .join(est, on="ProcNum", how="left")
        .sort("TreatPlanNum", "ProcNum")
    )
    code = items["CodeNum"].to_numpy() - 1
    fee = items["ProcFee"].to_numpy() * np.maximum(items["UnitQty"].to_numpy(), 1)
    pri = np.minimum(items["_ins"].fill_null(0.0).to_numpy(), fee)
    proctp = (
        items.select("TreatPlanNum", "PatNum", "ProvNum", "ClinicNum", "Priority", "Surf")
        .with_columns(
            ProcNumOrig=items["ProcNum"],
            ItemOrder=pl.col("TreatPlanNum").cum_count().over("TreatPlanNum"),
            ToothNumTP=items["ToothNum"],
            ProcCode=pl.Series(ref.code_text[code]),
            Descript=pl.Series(ref.code_descript[code]),
            FeeAmt=pl.Series(fee),
            PriInsAmt=pl.Series(np.round(pri, 2)),
            PatAmt=pl.Series(np.round(fee - pri, 2)),
            ProcAbbr=pl.Series(ref.code_abbr[code]),
            FeeAllowed=pl.Series(fee),
            DateTP=items["DateTP"],
            SecDateEntry=items["DateTP"],
            SecUserNumEntry=pl.lit(1, pl.Int64),
            _edit=items["_exam"] * DAY + 15 * 3600,
        )
        .with_row_index("ProcTPNum", offset=1)
        .with_columns(pl.col("ProcTPNum").cast(pl.Int64))
    )
    return treatplan, proctp


def referrals(procs: pl.DataFrame, p: Patients, ref: Reference, rng: np.random.Generator) -> pl.DataFrame:
    """Who referred new patients to us (RefFrom) and whom we referred work to (RefTo)."""
    pats = np.flatnonzero(p.has_visits & (rng.random(len(p.join)) < 0.35))
    src = np.where(
        rng.random(len(pats)) < 0.8,
        rng.choice(ref.referral_sources, len(pats)),
        rng.choice(ref.referral_doctors, len(pats)),
    )
    from_rows = pl.DataFrame(
        {
            "PatNum": pats + 1,
            "ReferralNum": src,
            "_day": p.join[pats],
            "RefType": 1,
            "ProcNum": 0,
            "RefToStatus": 0,
        }
    )
    out = procs.filter(pl.col("ProcStatus") == 5)
    to_rows = pl.DataFrame(
        {
            "PatNum": out["PatNum"],
            "ReferralNum": rng.choice(ref.referral_doctors, out.height),
            "_day": out["ProcDate"].cast(pl.Int32).cast(pl.Int64),
            "RefType": 0,
            "ProcNum": out["ProcNum"],
            "RefToStatus": pick(rng, [2, 3, 5], [20, 30, 50], out.height),
        }
    )
    rows = pl.concat([from_rows, to_rows], how="diagonal_relaxed").sort("_day", "PatNum")
    n = rows.height
    return rows.with_row_index("RefAttachNum", offset=1).with_columns(
        pl.col("RefAttachNum").cast(pl.Int64),
        RefDate=dates(rows["_day"]),
        ItemOrder=pl.col("RefType").cum_count().over("PatNum"),
        ProvNum=pl.Series(p.dentist[rows["PatNum"].to_numpy() - 1]),
        Note=pl.Series(np.where(rng.random(n) < 0.2, "Thank you for the referral", "")),
        _edit=rows["_day"] * DAY + 13 * 3600,
    )


def proc_notes(
    procs: pl.DataFrame, v: pl.DataFrame, ref: Reference, rng: np.random.Generator
) -> pl.DataFrame:
    """A note for each completed appointment and for much of the restorative work done."""
    done = procs.filter((pl.col("ProcStatus") == 2) & (pl.col("AptNum") > 0)).join(
        v.select("AptNum", "_kind", "_end"), on="AptNum"
    )
    first = done.sort("ProcNum").group_by("AptNum", maintain_order=True).first()
    extra = done.filter((pl.col("_kind") == "R") & pl.Series(rng.random(done.height) < 0.4))
    notes = (
        pl.concat([first.select(done.columns), extra]).unique("ProcNum", keep="first").sort("_end", "ProcNum")
    )
    n = notes.height
    kind = notes["_kind"].to_numpy()
    bp = rng.integers(105, 145, n).astype(str)
    tooth = notes["ToothNum"].to_numpy()
    text = np.where(
        kind == "H",
        np.char.replace(np.array([NOTE_TEMPLATES["H"]] * n), "{bp}", bp),
        np.where(kind == "E", NOTE_TEMPLATES["E"], NOTE_TEMPLATES["R"]),
    )
    text = np.char.replace(text.astype(str), "{tooth}", tooth.astype(str)).astype(object)
    # text pasted from other programs sometimes carries NUL characters, which PostgreSQL text rejects
    # (a list, not numpy: numpy strings drop trailing NULs)
    pasted = rng.random(n) < 0.01
    text = np.array([t + "\x00" if m else t for t, m in zip(text, pasted, strict=True)], dtype=object)
    when = notes["_end"].to_numpy() + rng.integers(60, 1800, n)
    users = np.array([ref.user_of_provider.get(int(x), 1) for x in notes["ProvNum"].to_numpy()])
    return pl.DataFrame(
        {
            "ProcNoteNum": np.arange(1, n + 1),
            "PatNum": notes["PatNum"],
            "ProcNum": notes["ProcNum"],
            "EntryDateTime": datetimes(when),
            "UserNum": users,
            "Note": text.astype(object),
            "SigIsTopaz": 0,
            "Signature": np.where(rng.random(n) < 0.3, "a1b2c3d4e5f60718", ""),
        }
    )


def documents(procs: pl.DataFrame, p: Patients, ref: Reference, rng: np.random.Generator) -> pl.DataFrame:
    """Radiographs for x-ray procedures, plus insurance card scans and photos."""
    defs = ref.defs
    xcat = {"D0274": "BWs", "D0272": "BWs", "D0210": "FMXs", "D0330": "Panos", "D0220": "FMXs"}
    xr = procs.filter((pl.col("ProcStatus") == 2) & pl.col("CodeNum").is_in([ref.code_num[c] for c in xcat]))
    code = ref.code_text[xr["CodeNum"].to_numpy() - 1]
    cat = np.array([defs.num("ImageCats", xcat[c]) for c in code])
    day = xr["ProcDate"].cast(pl.Int32).to_numpy().astype(np.int64)
    xray = pl.DataFrame(
        {
            "PatNum": xr["PatNum"],
            "DocCategory": cat,
            "ImgType": 1,
            "_day": day,
            "Description": ref.code_abbr[xr["CodeNum"].to_numpy() - 1],
            "ProvNum": xr["ProvNum"],
            "_ext": ".dcm",
        }
    )
    scans = np.flatnonzero(p.insured & p.has_visits)
    card = pl.DataFrame(
        {
            "PatNum": scans + 1,
            "DocCategory": defs.num("ImageCats", "Insurance Cards"),
            "ImgType": 0,
            "_day": np.clip(p.join[scans], p.start, p.last).astype(np.int64),
            "Description": "Insurance Card",
            "ProvNum": 0,
            "_ext": ".jpg",
        }
    )
    photos_pat = np.flatnonzero(p.has_visits & (rng.random(len(p.join)) < 0.2))
    photo = pl.DataFrame(
        {
            "PatNum": photos_pat + 1,
            "DocCategory": defs.num("ImageCats", "Photos"),
            "ImgType": 2,
            "_day": np.clip(p.join[photos_pat], p.start, p.last).astype(np.int64),
            "Description": "Patient Photo",
            "ProvNum": 0,
            "_ext": ".jpg",
        }
    )
    docs = pl.concat([xray, card, photo], how="diagonal_relaxed").sort("_day", "PatNum")
    n = docs.height
    when = docs["_day"].to_numpy() * DAY + rng.integers(8 * 3600, 17 * 3600, n)
    docs = docs.with_row_index("DocNum", offset=1).with_columns(pl.col("DocNum").cast(pl.Int64))
    # a few small images kept inside the database, as some offices configure it
    inline = rng.random(n) < 0.002
    blob = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    return docs.with_columns(
        ExternalSource=pl.lit("None"),
        FileName=pl.format(
            "{}{}{}", pl.col("Description").str.replace_all(" ", ""), pl.col("DocNum"), pl.col("_ext")
        ),
        DateCreated=datetimes(when),
        RawBase64=pl.Series(np.where(inline, blob, "")),
        _edit=pl.Series(when),
    )


def sheets(v: pl.DataFrame, p: Patients, rng: np.random.Generator) -> pl.DataFrame:
    """Medical history forms at the first visit and every couple of years; consents for treatment."""
    h = v.filter((pl.col("_kind") == "H") & (pl.col("_status") == 2) & ((pl.col("_k") % 4) == 0))
    r = v.filter((pl.col("_kind") == "R") & (pl.col("_status") == 2))
    r = r.filter(pl.Series(rng.random(r.height) < 0.3))
    rows = pl.concat(
        [
            h.select("PatNum", "_start").with_columns(
                SheetType=pl.lit(11), Description=pl.lit("Medical History")
            ),
            r.select("PatNum", "_start").with_columns(
                SheetType=pl.lit(6), Description=pl.lit("Consent for Treatment")
            ),
        ]
    ).sort("_start", "PatNum")
    n = rows.height
    when = rows["_start"].to_numpy() - rng.integers(300, 1800, n)
    web = rng.random(n) < 0.3
    return rows.with_row_index("SheetNum", offset=1).with_columns(
        pl.col("SheetNum").cast(pl.Int64),
        DateTimeSheet=datetimes(when),
        FontSize=pl.lit(11.0),
        FontName=pl.lit("Microsoft Sans Serif"),
        Width=pl.lit(850),
        Height=pl.lit(1100),
        IsWebForm=pl.Series(web.astype(int)),
        ClinicNum=pl.Series(p.clinic[rows["PatNum"].to_numpy() - 1]),
        DateTSheetEdited=datetimes(when + 600),
        HasMobileLayout=pl.Series(web.astype(int)),
    )
