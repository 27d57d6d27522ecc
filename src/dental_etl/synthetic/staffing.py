"""Who works when: the provider roster and the days each provider works (the schedule).

A practice staffs for the care its patients book. A first run of the visit simulation (before any
appointment is placed on a provider's day) measures the chair hours the patients need, per clinic
and practice year: the hygiene chair for hygienists; restorative and emergency visits for dentists
(the exam in a hygiene appointment costs the dentist minutes, not a chair). From those hours:

- the roster (`roster`): enough dentists and hygienists that each works about four days a week in
  the busiest year (five at most); clinics too small for their own team share one (the dentist
  works Monday and Tuesday at one clinic, Wednesday at the other);
- each provider's weekly pattern per practice year (`Calendar.build`): half-days (08:00-12:00 and
  13:00-17:00) at each of the provider's clinics, as many as the provider's own patients need at a
  realistic utilisation (`UTILISATION`), at most five days;
- practice holidays and two weeks of vacation per provider and year.

`Calendar.snap` moves every appointment onto a day its provider works at the patient's clinic and
`Calendar.schedule` lists those days as schedule rows, so the appointment book and the schedule
agree and production per scheduled hour means what a practice means by it.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl

from dental_etl.synthetic import procedures
from dental_etl.synthetic import visits as visits_
from dental_etl.synthetic.config import GeneratorConfig
from dental_etl.synthetic.people import Patients
from dental_etl.synthetic.rand import EPOCH, day_number, rng_for, to_workday, weekday
from dental_etl.synthetic.reference import Reference

DENTIST, HYGIENIST = 0, 1
BLOCKS = ((8 * 3600, 12 * 3600), (13 * 3600, 17 * 3600))  # morning and afternoon
MORNING, AFTERNOON = 1, 2  # bits of a working day's blocks at a clinic (3 = the whole day)
BLOCK_HOURS = 4.0
# booked chair hours / scheduled hours: dentists keep room for emergencies and long cases
UTILISATION = (0.76, 0.90)
WORK_WEEKS = 48.5  # 52 weeks less two of vacation and the holidays
ROSTER_HALF_DAYS = 8  # roster sizing: in the busiest year a provider works about four days a week
MAX_HALF_DAYS = 10
VACATION_WEEKS = 2


def half_days(hours: np.ndarray, role: int) -> np.ndarray:
    """Half-days a week that `hours` booked chair hours a year need at the role's utilisation."""
    return hours / WORK_WEEKS / (BLOCK_HOURS * UTILISATION[role])


def split(need: np.ndarray) -> np.ndarray:
    """Whole half-days a week per clinic for a provider's fractional needs: the total rounded (up
    from a quarter; at most a full week: busier providers are overbooked, as real ones get) shared
    by largest remainder, at least one half-day at every clinic the provider serves."""
    total = int(min(max(np.ceil(need.sum() - 0.25), len(need)), MAX_HALF_DAYS))
    rest = max(total - len(need), 0)  # beyond the one half-day every clinic gets
    weights = need if need.sum() > 0 else np.ones(len(need))
    share = weights * rest / weights.sum()
    h = 1 + np.floor(share).astype(np.int64)
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    for i in order[: total - int(h.sum())]:
        h[i] += 1
    return h


def _providers(half_days_a_week: float) -> int:
    """Providers for a load: about four days a week each, never more than five."""
    return max(1, round(half_days_a_week / ROSTER_HALF_DAYS), math.ceil(half_days_a_week / MAX_HALF_DAYS))


def _week(role: int, clinics: list[int], half: np.ndarray, rank: int, at: np.ndarray) -> np.ndarray:
    """One week: the clinic of each weekday's morning and afternoon (0 off), for `half` half-days at
    each clinic: whole days first, leftover half-days paired on one weekday (a morning at one clinic,
    the afternoon at another). Colleagues start on different weekdays; hygienists take the weekdays
    a dentist works at the clinic first. `at[role, clinic, weekday]` counts who is where."""
    plan = np.zeros((5, 2), np.int64)
    free = [(2 * rank + i) % 5 for i in range(5)]

    def take(c: int) -> int | None:
        if role == HYGIENIST:
            free.sort(key=lambda w: (at[DENTIST, c, w] == 0, at[HYGIENIST, c, w]))
        return free.pop(0) if free else None

    for c, n in zip(clinics, half, strict=True):
        for _ in range(n // 2):
            w = take(c)
            if w is not None:
                plan[w] = c
                at[role, c, w] += 1
    odd = [c for c, n in zip(clinics, half, strict=True) if n % 2]
    for first in range(0, len(odd), 2):
        w = take(odd[first])
        if w is None:
            break
        pair = odd[first : first + 2]
        plan[w, : len(pair)] = pair
        for c in pair:
            at[role, c, w] += 1
    return plan


def roster(peak: np.ndarray) -> list[list[int]]:
    """Providers of one role as the clinics each serves, from each clinic's peak half-days a week.

    Clinics that together keep at least one provider each busy get their own team; otherwise the
    few providers share the clinics round-robin.
    """
    clinics = len(peak)
    n = max(_providers(float(peak.sum())), math.ceil(clinics / MAX_HALF_DAYS))
    if n >= clinics:
        return [[c + 1] for c in range(clinics) for _ in range(_providers(float(peak[c])))]
    return [[c + 1 for c in range(clinics) if c % n == i] for i in range(n)]


def holidays(first: int, last: int) -> dict[int, str]:
    """The days (day numbers) the practice is closed between `first` and `last`, with their names."""
    out: dict[int, str] = {}
    for year in range((EPOCH + timedelta(days=first)).year, (EPOCH + timedelta(days=last)).year + 1):
        may31 = date(year, 5, 31)
        sep1 = date(year, 9, 1)
        nov1 = date(year, 11, 1)
        thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
        named = {
            date(year, 1, 1): "New Year's Day",
            may31 - timedelta(days=may31.weekday()): "Memorial Day",
            date(year, 7, 4): "Independence Day",
            sep1 + timedelta(days=(7 - sep1.weekday()) % 7): "Labor Day",
            thanksgiving: "Thanksgiving",
            thanksgiving + timedelta(days=1): "Day after Thanksgiving",
            date(year, 12, 24): "Christmas Eve",
            date(year, 12, 25): "Christmas Day",
        }
        for d, name in named.items():
            n = day_number(d)
            if first <= n <= last and d.weekday() < 5:
                out[n] = name
    return out


class Calendar:
    """Every provider's working days, per clinic: day numbers and blocks (MORNING | AFTERNOON bits).

    Looked up by a sorted key `pair * SPAN + (day - origin)`, one pair per (provider, clinic), so
    that placing millions of appointments is one `searchsorted`.
    """

    def __init__(
        self,
        prov: np.ndarray,
        clinic: np.ndarray,
        day: np.ndarray,
        blocks: np.ndarray,
        origin: int,
        horizon: int,
        closed: dict[int, str],
    ) -> None:
        self.origin, self.horizon, self.closed = origin, horizon, closed
        self.span = horizon - origin + 1
        self.pair_index = np.full(
            (int(prov.max(initial=0)) + 1, int(clinic.max(initial=0)) + 1), -1, np.int64
        )
        pairs = np.unique(np.column_stack([prov, clinic]), axis=0)
        self.pair_index[pairs[:, 0], pairs[:, 1]] = np.arange(len(pairs))
        keys = self.pair_index[prov, clinic] * self.span + (day - origin)
        order = np.argsort(keys, kind="stable")
        self.keys, self.blocks_at = keys[order], blocks[order]
        self.prov, self.clinic, self.day = prov[order], clinic[order], day[order]

    @classmethod
    def build(
        cls,
        serves: dict[int, list[int]],
        roles: dict[int, int],
        hours: dict[tuple[int, int, int], float],
        start: int,
        today: int,
        years: int,
        rng: np.random.Generator,
    ) -> Calendar:
        """`serves`: ProvNum -> clinics; `roles`: ProvNum -> DENTIST/HYGIENIST; `hours`: booked chair
        hours a year per (ProvNum, clinic, period), period 0 the last 365 days (and the future)."""
        origin, horizon = start - 14, today + 2 * 365
        days = np.arange(origin, horizon + 1)
        wd = weekday(days)
        closed = holidays(origin, horizon)
        open_day = (wd < 5) & ~np.isin(days, np.fromiter(closed, np.int64, len(closed)))
        period = np.clip((today - 1 - days) // 365, 0, years - 1)
        week = (days - origin) // 7
        rank_in_clinic: dict[tuple[int, int], int] = {}
        # providers at each (period, clinic, weekday): hygienists are placed on the dentists' days
        at = np.zeros((2, years, max(max(c) for c in serves.values()) + 1, 5), np.int64)
        parts = []
        for prov in sorted(serves, key=lambda x: (roles[x], x)):
            role, clinics = roles[prov], serves[prov]
            rank = rank_in_clinic.get((role, clinics[0]), 0)
            rank_in_clinic[(role, clinics[0])] = rank + 1
            week_plan = np.zeros((years, 5, 2), np.int64)  # clinic of each weekday's morning/afternoon
            for k in range(years):
                need = np.array([half_days(np.array(hours.get((prov, c, k), 0.0)), role) for c in clinics])
                week_plan[k] = _week(role, clinics, split(need), rank, at[:, k])
            # two weeks of vacation a year
            vac_weeks = week[0] + rng.integers(0, (horizon - origin) // 7 + 1, 2 * (years + 2))
            on = open_day & ~np.isin(week, vac_weeks)
            w = np.minimum(wd, 4)
            for half in (MORNING, AFTERNOON):
                clinic = np.where(on, week_plan[period, w, half - 1], 0)
                sel = clinic > 0
                parts.append(
                    (np.full(sel.sum(), prov, np.int64), clinic[sel], days[sel], np.full(sel.sum(), half))
                )
        prov_a, clinic_a, day_a, half_a = (np.concatenate(x) for x in zip(*parts, strict=True))
        # a day's blocks at a clinic: MORNING | AFTERNOON bits
        merged = (
            pl.DataFrame({"p": prov_a, "c": clinic_a, "d": day_a, "b": half_a})
            .group_by("p", "c", "d")
            .agg(pl.col("b").sum())
            .sort("p", "c", "d")
        )
        return cls(
            merged["p"].to_numpy(),
            merged["c"].to_numpy(),
            merged["d"].to_numpy(),
            merged["b"].to_numpy(),
            origin,
            horizon,
            closed,
        )

    def _query(self, days: np.ndarray, prov: np.ndarray, clinic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        days = np.asarray(days, np.int64)
        prov = np.asarray(prov, np.int64)
        clinic = np.asarray(clinic, np.int64)
        known = (prov < self.pair_index.shape[0]) & (clinic < self.pair_index.shape[1])
        pair = np.where(known, self.pair_index[np.where(known, prov, 0), np.where(known, clinic, 0)], -1)
        ok = (pair >= 0) & (days >= self.origin) & (days <= self.horizon)
        return np.where(ok, pair * self.span + (days - self.origin), -1), ok

    def snap(
        self, days: np.ndarray, prov: np.ndarray, clinic: np.ndarray, *, backward: bool = False
    ) -> np.ndarray:
        """The provider's next working day at the clinic on or after each day (on or before with
        `backward`); days outside the calendar or without a provider only skip weekends."""
        q, ok = self._query(days, prov, clinic)
        if backward:
            i = np.searchsorted(self.keys, q, side="right") - 1
        else:
            i = np.searchsorted(self.keys, q, side="left")
        i_safe = np.clip(i, 0, len(self.keys) - 1)
        hit = ok & (i >= 0) & (i < len(self.keys)) & (self.keys[i_safe] // self.span == q // self.span)
        return np.where(
            hit, self.keys[i_safe] % self.span + self.origin, to_workday(np.asarray(days, np.int64))
        )

    def blocks(self, days: np.ndarray, prov: np.ndarray, clinic: np.ndarray) -> np.ndarray:
        """The provider's blocks at the clinic on each day: MORNING | AFTERNOON bits, 0 not working."""
        q, ok = self._query(days, prov, clinic)
        i = np.clip(np.searchsorted(self.keys, q), 0, len(self.keys) - 1)
        return np.where(ok & (self.keys[i] == q), self.blocks_at[i], 0)

    def schedule(self, first: int, last: int) -> pl.DataFrame:
        """Provider schedule rows (one per block) and practice holidays between two days."""
        sel = (self.day >= first) & (self.day <= last)
        prov, clinic, day, blocks = self.prov[sel], self.clinic[sel], self.day[sel], self.blocks_at[sel]
        parts = []
        for bit, (start, stop) in zip((MORNING, AFTERNOON), BLOCKS, strict=True):
            on = (blocks & bit) > 0
            parts.append(
                pl.DataFrame(
                    {
                        "ProvNum": prov[on],
                        "ClinicNum": clinic[on],
                        "_day": day[on],
                        "SchedType": 1,
                        "_start": np.full(on.sum(), start),
                        "_stop": np.full(on.sum(), stop),
                    }
                )
            )
        rows = pl.concat(parts)
        closed = [(d, name) for d, name in sorted(self.closed.items()) if first <= d <= last]
        holiday_rows = pl.DataFrame(
            {
                "ProvNum": 0,
                "ClinicNum": 0,
                "_day": np.array([d for d, _ in closed], np.int64),
                "SchedType": 0,
                "_start": 0,
                "_stop": 0,
                "Status": 2,
                "Note": [name for _, name in closed],
            }
        )
        return pl.concat([rows, holiday_rows], how="diagonal_relaxed")


def chair_hours(visits: pl.DataFrame, procs: pl.DataFrame, p: Patients, years: int) -> pl.DataFrame:
    """Booked chair minutes of the completed visits per patient, role and practice year (period 0 =
    the last 365 days): the hygiene chair (hygienist) and restorative/emergency visits (dentist)."""
    done = procs.filter((pl.col("_vid") > 0) & (pl.col("ProcStatus") == procedures.DONE))
    treated = (
        done.select("_vid", _m=pl.Series(procedures.MINUTES[done["_code"].to_numpy()]) * pl.col("UnitQty"))
        .group_by("_vid")
        .agg(_minutes=pl.col("_m").sum())
    )
    v = visits.filter(
        (pl.col("_status") == visits_.COMPLETE)
        & pl.col("_kind").is_in(["H", "E", "R"])
        & pl.col("_day").is_between(p.start, p.last)
    ).join(treated, on="_vid", how="left")
    pat = v["PatNum"].to_numpy() - 1
    kind, k = v["_kind"].to_numpy(), v["_k"].to_numpy()
    restorative = np.maximum(np.ceil(v["_minutes"].fill_null(0).to_numpy() / 10) * 10, 30)
    hygiene = np.where(k == 0, 90, np.where(p.child[pat], 50, np.where(p.perio[pat], 70, 60)))
    minutes = np.select([kind == "H", kind == "E"], [hygiene, 40], restorative)
    return pl.DataFrame(
        {
            "PatNum": v["PatNum"],
            "_role": np.where(kind == "H", HYGIENIST, DENTIST),
            "_period": np.clip((p.last - v["_day"].to_numpy()) // 365, 0, years - 1),
            "_minutes": minutes.astype(np.int64),  # whole minutes: sums are exact in any order
        }
    )


def staff_practice(config: GeneratorConfig, p: Patients, ref: Reference) -> Calendar:
    """Hire for the patients and plan everyone's days: a first run of the visit simulation (visits
    on any weekday) measures the chair hours; the roster is hired (`ref.hire`), patients get their
    dentist and hygienist, and the calendar follows each provider's own patients."""
    seed = config.seed
    first = visits_.base_visits(p, rng_for(seed, "visits"))
    found, more = procedures.findings(first, p, rng_for(seed, "findings"))
    hours = chair_hours(pl.concat([first, more.select(first.columns)]), found, p, config.years)
    hours = hours.with_columns(_clinic=pl.Series(p.clinic[hours["PatNum"].to_numpy() - 1]))
    per_clinic = hours.group_by("_role", "_clinic", "_period").agg(_hours=pl.col("_minutes").sum() / 60)
    teams = []
    for role in (DENTIST, HYGIENIST):
        peak = np.zeros(config.clinics)
        rows = per_clinic.filter(pl.col("_role") == role)
        for c, h in rows.group_by("_clinic").agg(pl.col("_hours").max()).iter_rows():
            peak[c - 1] = half_days(np.array(h), role)
        teams.append(roster(peak))
    ref.hire(teams[0], teams[1])
    p.assign_providers(ref, seed)
    pat = hours["PatNum"].to_numpy() - 1
    prov = np.where(hours["_role"].to_numpy() == DENTIST, p.dentist[pat], p.hygienist[pat])
    per_prov = (
        hours.with_columns(_prov=pl.Series(prov))
        .group_by("_prov", "_clinic", "_period")
        .agg(_hours=pl.col("_minutes").sum() / 60)
    )
    # appointments that break took their time on the book too
    booked = {
        (int(a), int(b), int(c)): float(h) * (1 + visits_.BREAK_RATE) for a, b, c, h in per_prov.iter_rows()
    }
    roles = {int(d): DENTIST for d in ref.dentists} | {int(h): HYGIENIST for h in ref.hygienists}
    return Calendar.build(
        ref.serves, roles, booked, p.start, p.today, config.years, rng_for(seed, "calendar")
    )
