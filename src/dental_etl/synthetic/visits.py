"""When each patient comes in: the appointment timeline.

Hygiene visits start with a new-patient visit on the join day and then recur about every six
months (three for perio patients), stretched for irregular patients, until the patient leaves.
The next visit after the last completed one is on the books (a future scheduled appointment)
for most active patients. Emergency visits come at random. Restorative visits are added by
`procedures.findings` (treatment accepted at an exam). Every visit falls on a day its provider
works at the patient's clinic (staffing.Calendar; weekdays only without one). Some appointments
break: (1) a separate Broken/Unscheduled appointment, replaced by a new one that got its
procedures; (2) the same appointment broken and moved back onto the schedule (AptStatus alone then
hides the break; histappointment shows it); (3) broken and never rebooked: the visit does not
happen and its procedures stay attached to the broken appointment, still planned (TP) — as for
patients who leave the practice with their next appointment broken.

Visits are a polars frame with helper columns: `_vid` (visit id), `_kind` (H hygiene, E emergency,
R restorative, B broken-only, P planned, X deleted later), `_day`, `_k` (hygiene visit rank),
`_status` (AptStatus), `_book` (booking time, seconds), `_form` (0 never broken, 1 broken and
replaced, 2 broken and rescheduled), `_break_day`, `_break_action` (HistApptAction 2/3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dental_etl.synthetic.people import Patients
from dental_etl.synthetic.rand import DAY, explode_counts, to_workday

if TYPE_CHECKING:
    from dental_etl.synthetic.staffing import Calendar

SCHEDULED, COMPLETE, UNSCHED, BROKEN, PLANNED = 1, 2, 3, 5, 6
REPLACED, MOVED_BACK, NOT_REBOOKED = 1, 2, 3  # the three forms of a break (_form)
REAPPOINT = 0.68
BREAK_RATE = 0.10  # completed hygiene/restorative appointments broken before they happened
BREAK_FORMS = (0.45, 0.30, 0.25)  # replaced / moved back / never rebooked


def place(
    cal: Calendar | None, days: np.ndarray, prov: np.ndarray, clinic: np.ndarray, **kw: bool
) -> np.ndarray:
    """Days moved onto the provider's working days at the clinic (weekdays without a calendar)."""
    return to_workday(np.asarray(days, np.int64)) if cal is None else cal.snap(days, prov, clinic, **kw)


def _frame(**cols: np.ndarray) -> pl.DataFrame:
    n = len(next(iter(cols.values())))
    defaults = {"_k": 0, "_form": 0, "_break_day": 0, "_break_action": 0, "_exam_vid": 0, "_exam_day": 0}
    data = {name: np.full(n, value, dtype=np.int64) for name, value in defaults.items()}
    data.update(cols)
    return pl.DataFrame(data).with_columns(pl.col(c).cast(pl.Int64) for c in data if c != "_kind")


def base_visits(p: Patients, rng: np.random.Generator, cal: Calendar | None = None) -> pl.DataFrame:
    """Hygiene (with the next appointment on the books) and emergency visits."""
    pats = np.flatnonzero(p.has_visits)
    first = p.join[pats]
    stop = np.minimum(p.leave[pats], p.today + 240)
    base = np.where(p.perio[pats], 91.0, 182.0) * p.compliance[pats]
    max_k = np.maximum((stop - first) / (base * 0.75), 0).astype(np.int64) + 2
    parent, k = explode_counts(max_k)
    gap = np.where(k > 0, np.maximum(base[parent] + rng.normal(0, 12, len(parent)), 60), 0)
    cs = np.cumsum(gap)
    starts = np.cumsum(max_k) - max_k
    pat = pats[parent]
    day = place(cal, first[parent] + cs - np.repeat(cs[starts], max_k), p.hygienist[pat], p.clinic[pat])
    past = day <= np.minimum(p.leave[pat], p.last)
    prev_past = np.r_[False, past[:-1]] & (k > 0)
    first_after = ~past & ((k == 0) | prev_past)
    active = p.leave[pat] > p.last
    future = first_after & active & (day >= p.today) & ((k == 0) | (rng.random(len(day)) < REAPPOINT))
    # patients who left: their next appointment sometimes was booked and then broken, never replaced
    lost = first_after & ~active & (day <= p.last) & (k > 0) & (rng.random(len(day)) < 0.3)
    keep = (past | future | lost) & (day >= p.start)  # nothing before the history starts
    # recall visits broken and never rebooked: the patient just comes to the next one
    never = past & (k > 0) & (day - 7 >= p.start) & (rng.random(len(day)) < BREAK_RATE * BREAK_FORMS[2])
    action = rng.choice([2, 3], len(day), p=[0.55, 0.45])
    broken_status = np.where(never & (rng.random(len(day)) < 0.3), UNSCHED, BROKEN)
    status = np.where(past & ~never, COMPLETE, np.where(future, SCHEDULED, broken_status))
    form = np.where(lost | never, NOT_REBOOKED, 0)
    break_day = np.where(never, _break_days(day, action, rng), np.where(lost, day, 0))
    hyg = _frame(
        PatNum=pat[keep] + 1,
        _kind=np.full(keep.sum(), "H"),
        _day=day[keep],
        _k=k[keep],
        _status=status[keep],
        _form=form[keep],
        _break_day=break_day[keep],
        _break_action=np.where(form > 0, action, 0)[keep],
    )

    # emergencies: about one every ten years of being a patient
    end = np.minimum(p.leave[pats], p.last)
    e_first = np.maximum(first, p.start)
    years = np.maximum(end - e_first, 0) / 365.0
    n_em = rng.poisson(0.1 * years)
    e_parent, _ = explode_counts(n_em)
    e_pat = pats[e_parent]
    e_day = place(
        cal,
        e_first[e_parent]
        + (rng.random(len(e_parent)) * (end[e_parent] - e_first[e_parent])).astype(np.int64),
        p.dentist[e_pat],
        p.clinic[e_pat],
    )
    ok = e_day <= p.last
    em = _frame(
        PatNum=e_pat[ok] + 1,
        _kind=np.full(ok.sum(), "E"),
        _day=e_day[ok],
        _status=np.full(ok.sum(), COMPLETE),
    )
    visits = pl.concat([hyg, em])
    return visits.with_row_index("_vid", offset=1).with_columns(pl.col("_vid").cast(pl.Int64))


def _break_days(day: np.ndarray, action: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Never-rebooked breaks: a no-show breaks on the day, a cancellation a few days before."""
    return np.where(action == 2, day, to_workday(day - rng.integers(1, 7, len(day))))


def provider_of(visits: pl.DataFrame, p: Patients) -> tuple[np.ndarray, np.ndarray]:
    """The provider whose chair an appointment takes (the hygienist for hygiene), and its clinic."""
    pat = visits["PatNum"].to_numpy() - 1
    kind = visits["_kind"].to_numpy()
    hygiene = (kind == "H") | ((kind == "B") & (visits["_k"].to_numpy() > 0))
    return np.where(hygiene, p.hygienist[pat], p.dentist[pat]), p.clinic[pat]


def add_breaks(
    visits: pl.DataFrame, p: Patients, rng: np.random.Generator, cal: Calendar | None = None
) -> pl.DataFrame:
    """Break some completed appointments before they happened (see the module docstring).

    Hygiene visits that were never rebooked are already broken in `base_visits` (before their exam
    could find anything); here hygiene visits break in the other two forms and restorative visits in
    all three (the restorative procedures of a never-rebooked one stay planned: clinical.py)."""
    n = visits.height
    kind = visits["_kind"].to_numpy()
    eligible = (visits["_status"].to_numpy() == COMPLETE) & np.isin(kind, ["H", "R"])
    hyg_forms = np.array(BREAK_FORMS[:2]) / sum(BREAK_FORMS[:2])
    form = np.where(
        kind == "H",
        rng.choice([REPLACED, MOVED_BACK], n, p=hyg_forms),
        rng.choice([REPLACED, MOVED_BACK, NOT_REBOOKED], n, p=BREAK_FORMS),
    )
    rate = np.where(kind == "H", BREAK_RATE * sum(BREAK_FORMS[:2]), BREAK_RATE)
    broke = eligible & (rng.random(n) < rate)
    day = visits["_day"].to_numpy()
    pat = visits["PatNum"].to_numpy() - 1
    prov, clinic = provider_of(visits, p)
    action = rng.choice([2, 3], n, p=[0.55, 0.45])
    # replaced or moved back: the appointment was first booked for an earlier day
    earlier = place(cal, day - rng.integers(5, 36, n), prov, clinic, backward=True)
    break_day = np.where(form == NOT_REBOOKED, _break_days(day, action, rng), earlier)
    broke &= (break_day > p.entry_day[pat] + 2) & (break_day >= p.start) & (break_day <= day)
    separate = broke & (form == REPLACED)
    dropped = broke & (form == NOT_REBOOKED)
    dropped_status = np.where(rng.random(n) < 0.3, UNSCHED, BROKEN)
    visits = visits.with_columns(
        _form=pl.when(pl.Series(broke & ~separate)).then(pl.Series(form)).otherwise(pl.col("_form")),
        _status=pl.when(pl.Series(dropped)).then(pl.Series(dropped_status)).otherwise(pl.col("_status")),
        _break_day=pl.when(pl.Series(broke)).then(pl.Series(break_day)).otherwise(pl.col("_break_day")),
        _break_action=pl.when(pl.Series(broke)).then(pl.Series(action)).otherwise(pl.col("_break_action")),
    )
    idx = np.flatnonzero(separate)
    replaced = _frame(
        PatNum=pat[idx] + 1,
        _kind=np.full(len(idx), "B"),
        _day=break_day[idx],
        _status=np.where(rng.random(len(idx)) < 0.3, UNSCHED, BROKEN),
        _form=np.full(len(idx), REPLACED),
        _break_day=break_day[idx],
        _break_action=action[idx],
        _k=np.where(kind[idx] == "H", np.maximum(visits["_k"].to_numpy()[idx], 1), 0),
        _exam_vid=visits["_vid"].to_numpy()[idx],  # the appointment that replaced it
    )
    # appointments created and then deleted outright (only histappointment remembers them)
    m = max(1, int(n * 0.012))
    src = rng.integers(0, n, m)
    deleted = _frame(
        PatNum=pat[src] + 1,
        _kind=np.full(m, "X"),
        _day=place(cal, day[src] - rng.integers(3, 40, m), prov[src], clinic[src]),
        _status=np.full(m, SCHEDULED),
    )
    deleted = deleted.filter((pl.col("_day") <= p.last) & (pl.col("_day") >= p.start))
    start = int(visits["_vid"].max()) + 1  # type: ignore[arg-type]
    extra = (
        pl.concat([replaced, deleted])
        .with_row_index("_vid", offset=start)
        .with_columns(pl.col("_vid").cast(pl.Int64))
    )
    return pl.concat([visits, extra.select(visits.columns)])


def booking_times(visits: pl.DataFrame, p: Patients, rng: np.random.Generator) -> pl.DataFrame:
    """When each appointment was made (SecDateTEntry): at the previous visit, or days before."""
    n = visits.height
    kind = visits["_kind"].to_numpy()
    day = visits["_day"].to_numpy()
    k = visits["_k"].to_numpy()
    pat = visits["PatNum"].to_numpy() - 1
    book_day = day - rng.integers(2, 45, n)
    # re-appointed at checkout of the previous hygiene visit (the previous row of the same patient)
    prev_day = visits.select(pl.col("_day").shift(1).over("PatNum", order_by=["_k", "_day"]).fill_null(0))
    prev = prev_day.to_series().to_numpy()
    at_checkout = (kind == "H") & (k > 0) & (prev > 0) & ((rng.random(n) < 0.6) | (day > p.last))
    book_day = np.where(at_checkout, prev, book_day)
    exam_day = visits["_exam_day"].to_numpy() if "_exam_day" in visits.columns else np.zeros(n, np.int64)
    book_day = np.where(kind == "R", np.where(rng.random(n) < 0.7, exam_day, (exam_day + day) // 2), book_day)
    book_day = np.where(kind == "P", exam_day, book_day)
    book_day = np.where(kind == "E", day, book_day)
    book_day = np.where(
        visits["_form"].to_numpy() > 0, np.minimum(book_day, visits["_break_day"].to_numpy() - 2), book_day
    )
    book_day = np.clip(book_day, p.entry_day[pat], p.last)
    hour = np.where(kind == "E", rng.integers(7 * 3600, 9 * 3600, n), rng.integers(8 * 3600, 17 * 3600, n))
    return visits.with_columns(_book=pl.Series(book_day.astype(np.int64) * DAY + hour))
