"""The office's running record: communications (commlog), the audit trail (securitylog), tasks,
statements and the schedule. Audit rows are derived from the events in the other tables, so the
security log is the largest table, as in a real OpenDental database."""

from __future__ import annotations

import numpy as np
import polars as pl

from dental_etl.synthetic.people import Patients
from dental_etl.synthetic.rand import DAY, dates, datetimes, explode_counts, pick, to_workday, weekday
from dental_etl.synthetic.reference import Reference
from dental_etl.synthetic.staffing import Calendar

# LogSources / CommItemSource / CommItemMode codes used below
TEXT, EMAIL, PHONE, MAIL = 5, 1, 3, 2
SENT, RECEIVED = 1, 2
WORKSTATIONS = np.array(["FRONT1", "FRONT2", "OP1", "OP2", "OP3", "HYG1", "HYG2", "OFFICE-MGR"], dtype=object)


def commlog(
    v: pl.DataFrame, statements: pl.DataFrame, p: Patients, ref: Reference, rng: np.random.Generator
) -> pl.DataFrame:
    defs = ref.defs
    appt = defs.num("CommLogTypes", "Appointment Related")
    booked = v.filter(pl.col("_kind").is_in(["H", "R", "E", "B"]))
    n = booked.height
    start = booked["_start"].to_numpy()
    pat = booked["PatNum"].to_numpy()
    parts = []

    def add(mask, when, ctype, mode, sent, source, note, user=0):
        idx = np.flatnonzero(mask)
        parts.append(
            pl.DataFrame(
                {
                    "PatNum": pat[idx],
                    "_when": np.broadcast_to(when, n)[idx].astype(np.int64),
                    "CommType": np.broadcast_to(ctype, n)[idx],
                    "Mode_": np.broadcast_to(mode, n)[idx],
                    "SentOrReceived": np.broadcast_to(sent, n)[idx],
                    "CommSource": np.broadcast_to(source, n)[idx],
                    "Note": np.broadcast_to(np.asarray(note, dtype=object), n)[idx],
                    "UserNum": np.broadcast_to(user, n)[idx],
                }
            )
        )

    texting = rng.random(n) < 0.85  # patients who accept texts
    add(texting, start - 2 * DAY, appt, TEXT, SENT, 3, "Appointment reminder sent via text.")
    add(
        texting & (rng.random(n) < 0.6),
        start - 2 * DAY + rng.integers(60, 7200, n),
        appt,
        TEXT,
        RECEIVED,
        3,
        "Patient replied C to confirm.",
    )
    add(rng.random(n) < 0.3, start - 7 * DAY, appt, EMAIL, SENT, 3, "Appointment reminder sent via email.")
    add(
        (booked["_status"].to_numpy() == 2) & (rng.random(n) < 0.5),
        booked["_end"].to_numpy() + 3600,
        appt,
        TEXT,
        SENT,
        6,
        "Thank you for visiting.",
    )
    broke = booked["_form"].to_numpy() > 0
    add(
        broke,
        booked["_break_day"].to_numpy() * DAY + 15 * 3600,
        appt,
        PHONE,
        SENT,
        0,
        "Pt did not show. Left msg to reschedule.\r\nWill try again next week.",
        rng.choice(ref.front_desk_users, n),
    )
    add(
        rng.random(n) < 0.08,
        start - DAY,
        defs.num("CommLogTypes", "Insurance"),
        PHONE,
        SENT,
        0,
        "Called insurance to verify eligibility and frequency.",
        rng.choice(ref.front_desk_users, n),
    )
    add(
        rng.random(n) < 0.05,
        start + DAY,
        defs.num("CommLogTypes", "Financial"),
        PHONE,
        RECEIVED,
        0,
        "Pt called about balance; explained EOB.",
        rng.choice(ref.front_desk_users, n),
    )
    # every statement sent by email or text is logged
    sent = statements.filter(pl.col("Mode_") != 0)
    parts.append(
        pl.DataFrame(
            {
                "PatNum": sent["PatNum"],
                "_when": sent["_edit"],
                "CommType": defs.num("CommLogTypes", "Financial"),
                "Mode_": np.where(sent["Mode_"].to_numpy() == 2, EMAIL, TEXT),
                "SentOrReceived": SENT,
                "CommSource": 4,
                "Note": "Statement sent.",
                "UserNum": 0,
            }
        )
    )
    # birthday greetings from the eServices, every year the patient is with us
    pats = np.flatnonzero(p.has_visits & (rng.random(len(p.join)) < 0.5))
    first_year = (np.maximum(p.join[pats], p.start) - p.birth[pats]) // 365 + 1
    last_year = (np.minimum(p.leave[pats], p.last) - p.birth[pats]) // 365
    years = np.maximum(last_year - first_year + 1, 0)
    bparent, by = explode_counts(years)
    b_when = (p.birth[pats][bparent] + 365 * (first_year[bparent] + by)).astype(np.int64) * DAY + 9 * 3600
    parts.append(
        pl.DataFrame(
            {
                "PatNum": pats[bparent] + 1,
                "_when": b_when,
                "CommType": defs.num("CommLogTypes", "Text Message"),
                "Mode_": TEXT,
                "SentOrReceived": SENT,
                "CommSource": 4,
                "Note": "Happy birthday from your dental team!",
                "UserNum": 0,
            }
        )
    )
    # recall reminders for patients who are overdue: about monthly until they come back or give up
    h = v.filter((pl.col("_kind") == "H") & (pl.col("_status") == 2)).sort("PatNum", "_day")
    nxt = h.select(pl.col("_day").shift(-1).over("PatNum")).to_series().fill_null(p.last).to_numpy()
    gap_months = np.clip((nxt - h["_day"].to_numpy() - 200) // 30, 0, 5)
    parent, m = explode_counts(gap_months)
    r_pat = h["PatNum"].to_numpy()[parent]
    r_when = (h["_day"].to_numpy()[parent] + 200 + 30 * m).astype(np.int64) * DAY + 11 * 3600
    mode = pick(rng, [TEXT, EMAIL, MAIL], [50, 35, 15], len(parent))
    parts.append(
        pl.DataFrame(
            {
                "PatNum": r_pat,
                "_when": r_when,
                "CommType": defs.num("CommLogTypes", "Recall"),
                "Mode_": mode,
                "SentOrReceived": SENT,
                "CommSource": 4,
                "Note": "Recall reminder: you are due for your cleaning.",
                "UserNum": 0,
            }
        )
    )
    logs = (
        pl.concat(parts, how="diagonal_relaxed")
        .filter(pl.col("_when").is_between(p.start * DAY, p.cap))
        .sort("_when", "PatNum")
    )
    k = logs.height
    when = logs["_when"].to_numpy()
    return logs.with_row_index("CommlogNum", offset=1).with_columns(
        pl.col("CommlogNum").cast(pl.Int64),
        CommDateTime=datetimes(when),
        DateTEntry=datetimes(when),
        DateTimeEnd=datetimes(
            np.where(logs["Mode_"].to_numpy() == PHONE, when + rng.integers(60, 600, k), -62135596800)
        ),
        _edit=pl.Series(when),
    )


def security_log(
    events: list[pl.DataFrame], ref: Reference, p: Patients, rng: np.random.Generator
) -> pl.DataFrame:
    """`events`: frames of PermType, PatNum, FKey, _when, LogText. Adds log on/off for every user-day."""
    users = ref.all_users
    days = np.arange(p.start, p.last + 1)
    days = days[weekday(days) < 5]
    grid_u, grid_d = np.meshgrid(users, days, indexing="ij")
    u, d = grid_u.ravel(), grid_d.ravel()
    on = rng.random(len(u)) < 0.8
    u, d = u[on], d[on]
    login = d.astype(np.int64) * DAY + rng.integers(7 * 3600, 9 * 3600, len(u))
    logout = d.astype(np.int64) * DAY + rng.integers(16 * 3600, 18 * 3600, len(u))
    onoff = pl.DataFrame(
        {
            "PermType": np.r_[np.full(len(u), 83), np.full(len(u), 83)],
            "PatNum": 0,
            "FKey": 0,
            "_when": np.r_[login, logout],
            "UserNum": np.r_[u, u],
            "LogText": np.r_[
                np.full(len(u), "User logged on.", dtype=object),
                np.full(len(u), "User logged off.", dtype=object),
            ],
        }
    )
    ev = (
        pl.concat(
            [e.with_columns(UserNum=pl.Series(rng.choice(users, e.height))) for e in events] + [onoff],
            how="diagonal_relaxed",
        )
        .filter(pl.col("_when").is_between(p.start * DAY, p.cap))
        .sort("_when", "PermType", "FKey")
    )
    n = ev.height
    source = np.where(rng.random(n) < 0.03, pick(rng, [1, 8, 13, 23], [3, 3, 3, 1], n), 0)
    return ev.with_row_index("SecurityLogNum", offset=1).with_columns(
        pl.col("SecurityLogNum").cast(pl.Int64),
        LogDateTime=datetimes(ev["_when"]),
        CompName=pl.Series(rng.choice(WORKSTATIONS, n)),
        LogSource=pl.Series(source),
    )


def tasks(p: Patients, ref: Reference, rng: np.random.Generator) -> pl.DataFrame:
    n = max(10, len(p.join) // 12)
    pat = rng.choice(np.flatnonzero(p.has_visits), n) + 1
    day = to_workday(rng.integers(p.start, p.last + 1, n))
    day = np.minimum(day, p.last)
    when = day.astype(np.int64) * DAY + rng.integers(8 * 3600, 17 * 3600, n)
    done = day < p.last - 14
    status = np.where(done, 2, rng.choice([0, 1], n))
    finished = np.where(status == 2, when + rng.integers(3600, 5 * DAY, n), -62135596800)
    finished = np.where(finished > p.cap, p.cap, finished)
    text = rng.choice(
        np.array(
            [
                "Call pt re: insurance breakdown",
                "Send records to specialist",
                "Follow up on unpaid claim",
                "Reschedule broken appt",
                "Pt requested callback\r\nabout statement",
            ],
            dtype=object,
        ),
        n,
    )
    frame = pl.DataFrame(
        {
            "PatNum": pat,
            "DateTask": dates(np.where(rng.random(n) < 0.2, day + 7, -719162)),
            "KeyNum": pat,
            "Descript": text,
            "TaskStatus": status,
            "ObjectType": 1,
            "_when": when,
            "UserNum": rng.choice(ref.front_desk_users, n),
            "DateTimeFinished": datetimes(finished),
            "PriorityDefNum": pick(rng, ref.defs.nums("TaskPriorities", "Normal", "High"), [85, 15], n),
            "TriageCategory": np.where(
                rng.random(n) < 0.5, rng.choice(ref.defs.nums("TaskCategories"), n), 0
            ),
            "_edit": np.maximum(when, np.where(status == 2, finished, when)),
        }
    ).sort("_when", "PatNum")
    return (
        frame.drop("PatNum")
        .with_row_index("TaskNum", offset=1)
        .with_columns(
            pl.col("TaskNum").cast(pl.Int64),
            DateTimeEntry=datetimes(frame["_when"]),
            DateTimeOriginal=datetimes(frame["_when"]),
        )
    )


def statements(
    splits: pl.DataFrame, procs: pl.DataFrame, p: Patients, rng: np.random.Generator
) -> pl.DataFrame:
    """A statement before most payments that came in well after the visit."""
    late = (
        splits.filter(pl.col("ProcNum") > 0)
        .join(procs.select("ProcNum", "ProcDate"), on="ProcNum")
        .filter((pl.col("DatePay") - pl.col("ProcDate")).dt.total_days() > 20)
    )
    day = late["DatePay"].cast(pl.Int32).to_numpy().astype(np.int64) - rng.integers(10, 20, late.height)
    guar = p.guarantor[late["PatNum"].to_numpy() - 1]
    s = (
        pl.DataFrame({"PatNum": guar, "_day": day, "_amt": late["SplitAmt"]})
        .with_columns(_month=pl.col("_day") // 30)
        .group_by("PatNum", "_month")
        .agg(_day=pl.col("_day").min(), BalTotal=pl.col("_amt").sum().round(2))
    )
    s = s.sort("_day", "PatNum")
    n = s.height
    day = s["_day"].to_numpy()
    return s.with_row_index("StatementNum", offset=1).with_columns(
        pl.col("StatementNum").cast(pl.Int64),
        DateSent=dates(day),
        DateRangeFrom=dates(day - 90),
        DateRangeTo=dates(day),
        Mode_=pl.Series(pick(rng, [0, 2, 3], [40, 40, 20], n)),
        IsSent=pl.lit(1),
        StatementType=pl.lit("NotSet"),
        Intermingled=pl.lit(1),
        _edit=pl.Series(day * DAY + 10 * 3600),
    )


def schedule(p: Patients, ref: Reference, cal: Calendar, rng: np.random.Generator) -> pl.DataFrame:
    """The schedule up to three months ahead: each provider's working blocks (staffing.Calendar,
    the days the appointment book uses), practice holidays, employees' days and weekly
    staff-meeting blockouts."""
    days = np.arange(p.start, p.today + 91)
    days = days[(weekday(days) < 5) & ~np.isin(days, np.fromiter(cal.closed, np.int64, len(cal.closed)))]
    prov_rows = cal.schedule(p.start, p.today + 90)
    emps = ref.tables["employee"]["EmployeeNum"].to_numpy()
    ev, ed = np.meshgrid(emps, days, indexing="ij")
    off = rng.random(ev.size) < 0.05
    emp_rows = pl.DataFrame(
        {
            "ProvNum": 0,
            "EmployeeNum": ev.ravel()[~off],
            "_day": ed.ravel()[~off],
            "SchedType": 3,
            "_start": 7 * 3600 + 1800,
            "_stop": 17 * 3600,
        }
    )
    meetings = days[weekday(days) == 0]
    meet = pl.DataFrame(
        {
            "ProvNum": 0,
            "EmployeeNum": 0,
            "_day": meetings,
            "SchedType": 2,
            "_start": 7 * 3600,
            "_stop": 8 * 3600,
            "ClinicNum": 1,
            "BlockoutType": ref.defs.num("BlockoutTypes", "Staff Meeting"),
            "Note": "Staff meeting",
        }
    )
    rows = pl.concat([prov_rows, emp_rows, meet], how="diagonal_relaxed").sort(
        "_day", "SchedType", "ProvNum", "EmployeeNum", "_start"
    )
    n = rows.height
    return rows.with_row_index("ScheduleNum", offset=1).with_columns(
        pl.col("ScheduleNum").cast(pl.Int64),
        SchedDate=dates(rows["_day"]),
        StartTime=pl.duration(seconds=pl.col("_start")),
        StopTime=pl.duration(seconds=pl.col("_stop")),
        _edit=pl.Series(
            np.minimum(rows["_day"].to_numpy() - 30, p.last).astype(np.int64) * DAY
            + 12 * 3600
            + np.zeros(n, np.int64)
        ),
    )
