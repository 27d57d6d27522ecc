"""The appointment book: appointment rows, their history (histappointment) and entry log.

Appointments are numbered in the order they were booked, as AUTO_INCREMENT would have. Deleted
appointments (`_kind` X) take a number too but survive only in histappointment and entrylog.
Every appointment has a Created history row; completed ones a Changed row when they are set
complete; broken ones a Missed or Cancelled row, and when moved back onto the schedule a Changed
row (AptStatus Scheduled) — which is why AptStatus alone undercounts broken appointments.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dental_etl.synthetic.people import Patients
from dental_etl.synthetic.rand import DAY, datetimes, pick
from dental_etl.synthetic.reference import Reference
from dental_etl.synthetic.staffing import AFTERNOON, BLOCKS, MORNING, Calendar
from dental_etl.synthetic.visits import BROKEN, COMPLETE, PLANNED, SCHEDULED, UNSCHED, provider_of

CREATED, CHANGED, MISSED, CANCELLED, DELETED = 0, 1, 2, 3, 4
NO_SECONDS = -62135596800  # 0001-01-01 00:00:00
BLACK = -16_777_216  # Color.Black.ToArgb(): OpenDental's text colour without a ProcApptColor


def number(visits: pl.DataFrame) -> pl.DataFrame:
    """AptNum in booking order."""
    return (
        visits.sort("_book", "_vid")
        .with_row_index("AptNum", offset=1)
        .with_columns(pl.col("AptNum").cast(pl.Int64))
    )


def times(
    visits: pl.DataFrame, minutes: pl.DataFrame, p: Patients, cal: Calendar, rng: np.random.Generator
) -> pl.DataFrame:
    """Appointment start, length and (for completed ones) arrival/seating/dismissal times. An
    appointment starts on the quarter hour inside one of its provider's blocks at the clinic that
    day (emergencies in the morning when the provider works it)."""
    v = visits.join(minutes, on="_vid", how="left").with_columns(pl.col("_minutes").fill_null(0))
    n = v.height
    kind = v["_kind"].to_numpy()
    mins = v["_minutes"].to_numpy()
    mins = np.where(kind == "H", np.maximum(mins, 50), np.maximum(mins, 30))
    mins = (np.ceil(mins / 10) * 10).astype(np.int64)
    day = v["_day"].to_numpy()
    prov, clinic = provider_of(v, p)
    blocks = cal.blocks(day, prov, clinic)
    either = rng.random(n) < np.where(kind == "E", 1.0, 0.5)  # emergencies in the morning if possible
    morning = (blocks == MORNING) | ((blocks != AFTERNOON) & either)
    block_start, block_stop = (
        np.where(morning, BLOCKS[0][0], BLOCKS[1][0]),
        np.where(morning, BLOCKS[0][1], BLOCKS[1][1]),
    )
    slots = np.maximum((block_stop - block_start - mins * 60) // 900, 1)
    start = day.astype(np.int64) * DAY + block_start + (rng.random(n) * slots).astype(np.int64) * 900
    start = np.where(kind == "P", NO_SECONDS, start)
    done = v["_status"].to_numpy() == COMPLETE
    tracked = done & (rng.random(n) < 0.65)
    arrived = start - rng.integers(0, 16, n) * 60
    seated = start + rng.integers(0, 12, n) * 60
    dismissed = seated + mins * 60 + rng.integers(-5, 10, n) * 60
    return v.with_columns(
        _start=pl.Series(start),
        _len=pl.Series(mins),
        _arrived=pl.Series(np.where(tracked, arrived, NO_SECONDS)),
        _seated=pl.Series(np.where(tracked, seated, NO_SECONDS)),
        _dismissed=pl.Series(np.where(tracked, dismissed, NO_SECONDS)),
        _end=pl.Series(start + mins * 60),
    )


def descriptions(procs: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """ProcDescript and ProcsColored per visit, as OpenDental writes them (Appointments.
    SetProcDescript): the procedures attached to the appointment (PlannedAptNum for a planned one),
    each as "#3-MO-C2P" (surfaces), "#3-PFZ" (tooth), "UL-SRP4+" (quadrant/arch) or "PerEx", joined
    by ", "; ProcsColored wraps each in a black <span>."""
    codes = pl.DataFrame(
        {"_code": np.arange(len(ref.code_area)), "_area": ref.code_area, "_abbr_": ref.code_abbr.astype(str)}
    )
    area = pl.col("_area")
    one = (
        pl.when(area == 1)
        .then(pl.concat_str(pl.lit("#"), "ToothNum", pl.lit("-"), "Surf", pl.lit("-"), "_abbr_"))
        .when(area == 2)
        .then(pl.concat_str(pl.lit("#"), "ToothNum", pl.lit("-"), "_abbr_"))
        .when(area.is_in([4, 6]))
        .then(pl.concat_str("Surf", pl.lit("-"), "_abbr_"))
        .when(area == 5)
        .then(pl.concat_str(pl.lit("S"), "Surf", pl.lit("-"), "_abbr_"))
        .otherwise(pl.col("_abbr_"))
    )
    return (
        procs.filter((pl.col("_vid") > 0) | (pl.col("_planned_vid") > 0))
        .join(codes, on="_code", how="left")
        .select(
            "ProcNum",
            _vid=pl.when(pl.col("_vid") > 0).then(pl.col("_vid")).otherwise(pl.col("_planned_vid")),
            _one=one,
        )
        .sort("ProcNum")
        .group_by("_vid", maintain_order=True)
        .agg(
            ProcDescript=pl.col("_one").str.join(", "),
            ProcsColored=pl.concat_str(pl.lit(f'<span color="{BLACK}">'), "_one", pl.lit("</span>")).str.join(
                ""
            ),
        )
    )


def appointment_table(v: pl.DataFrame, p: Patients, ref: Reference, rng: np.random.Generator) -> pl.DataFrame:
    defs = ref.defs
    v = v.filter(pl.col("_kind") != "X")
    n = v.height
    kind = v["_kind"].to_numpy()
    status = v["_status"].to_numpy()
    pat = v["PatNum"].to_numpy() - 1
    clinic = p.clinic[pat]
    hyg = (kind == "H") | ((kind == "B") & (v["_k"].to_numpy() > 0))  # a broken hygiene visit too
    op = np.empty(n, dtype=np.int64)
    for c in range(1, len(ref.ops_dental) + 1):
        here = clinic == c
        op[here] = np.where(
            hyg[here],
            rng.choice(ref.ops_hygiene[c - 1], here.sum()),
            rng.choice(ref.ops_dental[c - 1], here.sum()),
        )
    confirmed_done = pick(
        rng, defs.nums("ApptConfirmed", "Dismissed", "Arrived", "Confirmed", "Texted"), [50, 10, 25, 15], n
    )
    confirmed_open = pick(
        rng,
        defs.nums("ApptConfirmed", "Not Called", "Unconfirmed", "Left Msg", "Texted", "Confirmed"),
        [30, 20, 15, 15, 20],
        n,
    )
    confirmed = np.where(status == COMPLETE, confirmed_done, confirmed_open)
    length = v["_len"].to_numpy() // 5
    pattern = [
        "//" + "X" * max(int(n5) - 4, 1) + "//" if h else "/" + "X" * max(int(n5) - 2, 1) + "/"
        for n5, h in zip(length, hyg, strict=True)
    ]
    appt_type = np.select(
        [hyg & (v["_k"].to_numpy() == 0), hyg, kind == "E"],
        [ref.appt_type["New Patient"], ref.appt_type["Recall"], ref.appt_type["Emergency"]],
        ref.appt_type["Restorative"],
    )
    appt_type = np.where(rng.random(n) < 0.2, 0, appt_type)
    unsched = np.where(status == UNSCHED, rng.choice(defs.nums("RecallUnschedStatus"), n), 0)
    note = np.where(
        rng.random(n) < 0.08,
        rng.choice(
            np.array(
                [
                    "Pt prefers mornings",
                    "Needs premed",
                    "Running late - called",
                    "Wants to discuss crown cost",
                    "Spanish speaking",
                    'Pt says "call cell first"',
                    "X-rays in C:\\OpenDentImages\\S\\",
                    "Check ins eligibility\r\nbefore appt",
                ],
                dtype=object,
            ),
            n,
        ),
        "",
    )
    last_edit = np.select(
        [status == COMPLETE, (status == BROKEN) | (status == UNSCHED)],
        [v["_end"].to_numpy() + 600, v["_break_day"].to_numpy().astype(np.int64) * DAY + 15 * 3600],
        v["_book"].to_numpy(),
    )
    return v.with_columns(
        Pattern=pl.Series(pattern),
        Confirmed=pl.Series(confirmed),
        Op=pl.Series(op),
        Note=pl.Series(note),
        ProvNum=pl.Series(p.dentist[pat]),
        ProvHyg=pl.Series(np.where(hyg, p.hygienist[pat], 0)),
        AptDateTime=datetimes(v["_start"]),
        UnschedStatus=pl.Series(unsched),
        IsNewPatient=pl.Series(((v["_k"].to_numpy() == 0) & hyg).astype(int)),
        Assistant=pl.Series(np.where(hyg, 0, rng.choice(ref.assistants, n))),
        ClinicNum=pl.Series(clinic),
        IsHygiene=pl.Series(hyg.astype(int)),
        DateTimeArrived=datetimes(v["_arrived"]),
        DateTimeSeated=datetimes(v["_seated"]),
        DateTimeDismissed=datetimes(v["_dismissed"]),
        InsPlan1=pl.Series(p.plan[pat]),
        InsPlan2=pl.Series(p.second_plan[pat]),
        AppointmentTypeNum=pl.Series(appt_type),
        SecUserNumEntry=pl.Series(rng.choice(ref.front_desk_users, n)),
        SecDateTEntry=datetimes(v["_book"]),
        AptStatus=pl.Series(status),
        _edit=pl.Series(last_edit),
    )


def history(
    v: pl.DataFrame, appts: pl.DataFrame, ref: Reference, cap: int, rng: np.random.Generator
) -> pl.DataFrame:
    """histappointment: one row per change, each a snapshot of the appointment at that moment."""
    snap_cols = [
        "AptNum",
        "PatNum",
        "Pattern",
        "Confirmed",
        "Op",
        "ProvNum",
        "ProvHyg",
        "UnschedStatus",
        "IsNewPatient",
        "ProcDescript",
        "ProcsColored",
        "Assistant",
        "ClinicNum",
        "IsHygiene",
        "InsPlan1",
        "InsPlan2",
        "AppointmentTypeNum",
        "SecUserNumEntry",
        "SecDateTEntry",
        "Note",
    ]
    base = appts.select(
        [
            *snap_cols,
            "AptDateTime",
            "AptStatus",
            "_book",
            "_form",
            "_break_day",
            "_break_action",
            "_end",
            "_start",
            "_kind",
        ]
    )
    rows = []
    user = lambda n: rng.choice(ref.front_desk_users, n)  # noqa: E731

    def snap(frame, action, status, when, apt_time=None):
        frame = frame.with_columns(
            HistApptAction=action if isinstance(action, pl.Expr) else pl.lit(action),
            AptStatus=status if isinstance(status, pl.Expr) else pl.lit(status),
            _hist=when,
            HistUserNum=pl.Series(user(frame.height)),
        )
        if apt_time is not None:
            frame = frame.with_columns(AptDateTime=apt_time)
        rows.append(frame)

    created_status = pl.when(pl.col("_kind") == "P").then(PLANNED).otherwise(SCHEDULED)
    # a broken appointment was first booked for the day it broke
    first_time = ((pl.col("_break_day") * DAY + pl.col("_start") % DAY) * 1_000_000).cast(pl.Datetime("us"))
    snap(
        base,
        CREATED,
        created_status,
        pl.col("_book"),
        pl.when(pl.col("_form").is_in([1, 2])).then(first_time).otherwise(pl.col("AptDateTime")),
    )
    broke = base.filter(pl.col("_form") > 0)
    snap(broke, pl.col("_break_action"), BROKEN, pl.col("_break_day") * DAY + 14 * 3600)
    moved_back = base.filter(pl.col("_form") == 2)
    snap(moved_back, CHANGED, SCHEDULED, pl.col("_break_day") * DAY + 15 * 3600)
    unsched = base.filter(pl.col("AptStatus") == UNSCHED)
    snap(unsched, CHANGED, UNSCHED, pl.col("_break_day") * DAY + 15 * 3600 + 120)
    done = base.filter(pl.col("AptStatus") == COMPLETE)
    snap(done, CHANGED, COMPLETE, pl.col("_end") + 300)
    confirmed = base.filter(pl.Series(rng.random(base.height) < 0.35) & (pl.col("_kind") != "P"))
    snap(confirmed, CHANGED, SCHEDULED, pl.col("_start") - 2 * DAY + 10 * 3600)
    deleted = (
        v.filter(pl.col("_kind") == "X")
        .select("AptNum", "PatNum", "_book", "_day")
        .with_columns(
            AptDateTime=((pl.col("_day") * DAY + 10 * 3600) * 1_000_000).cast(pl.Datetime("us")),
            SecDateTEntry=(pl.col("_book") * 1_000_000).cast(pl.Datetime("us")),
            Pattern=pl.lit("/XXXX/"),
        )
    )
    snap(deleted.drop("_day"), CREATED, SCHEDULED, pl.col("_book"))
    snap(deleted.drop("_day"), DELETED, SCHEDULED, pl.col("_book") + 3600 * 5)
    hist = pl.concat(rows, how="diagonal_relaxed").with_columns(
        # a change cannot precede the booking, nor happen after yesterday's close
        _hist=pl.max_horizontal("_hist", "_book")
    )
    hist = hist.filter(pl.col("_hist") <= cap)  # confirmations of future appointments have not happened yet
    hist = hist.sort("_hist", "AptNum").with_row_index("HistApptNum", offset=1)
    return hist.with_columns(
        HistDateTStamp=datetimes(hist["_hist"]),
        _edit=pl.col("_hist"),
        HistApptNum=pl.col("HistApptNum").cast(pl.Int64),
    )


def entry_log(v: pl.DataFrame, ref: Reference, rng: np.random.Generator) -> pl.DataFrame:
    """entrylog: who created each appointment (including ones deleted later)."""
    e = v.filter(pl.col("_kind") != "P").select("AptNum", "_book").sort("_book", "AptNum")
    n = e.height
    source = pick(rng, [0, 1, 8, 19], [88, 6, 3, 3], n)
    return pl.DataFrame(
        {
            "EntryLogNum": np.arange(1, n + 1),
            "UserNum": rng.choice(ref.front_desk_users, n),
            "FKeyType": 0,
            "FKey": e["AptNum"],
            "LogSource": source,
            "EntryDateTime": datetimes(e["_book"]),
        }
    )
