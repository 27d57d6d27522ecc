"""What is done at each visit: procedurelog rows (before numbering).

Routine hygiene procedures follow the visit rank (exam every visit, bitewings every other visit,
a full series every three years ...). Exams find restorative work (`findings`), which is treatment
planned (status 1) on the exam day; accepted findings are scheduled in restorative visits of about
two hours, days to months later, and completed there (status 2), or are still scheduled in the
future; the rest stay planned, become inactive (8), get deleted (6) or sit on a planned
appointment. Procedures of an appointment that broke and was never rebooked stay planned and
attached to it. New patients bring existing work (EO/EC) and conditions (Cn); broken appointments
sometimes get a D9986/D9987 charge.

Frame helper columns: `_vid` (visit of the appointment it is attached to, 0 none), `_planned_vid`,
`_code` (index into catalog.CODES), `_day` (ProcDate), `_tp_day` (DateTP, NO_DAY none), `_entry`
(seconds), `_finding` (planned from an exam).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dental_etl.synthetic import catalog
from dental_etl.synthetic.people import Patients
from dental_etl.synthetic.rand import DAY, NO_DAY, explode_counts, pick
from dental_etl.synthetic.visits import (
    BROKEN,
    COMPLETE,
    NOT_REBOOKED,
    PLANNED,
    SCHEDULED,
    UNSCHED,
    _frame,
    place,
)

if TYPE_CHECKING:
    from dental_etl.synthetic.staffing import Calendar

C = catalog.CODE_INDEX
TP, DONE, EC, EO, REFERRED, DELETED, CONDITION, TP_INACTIVE = 1, 2, 3, 4, 5, 6, 7, 8
POSTERIOR = np.array([1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 28, 29, 30, 31, 32])
ANTERIOR = np.array([6, 7, 8, 9, 10, 11, 22, 23, 24, 25, 26, 27])
PRIMARY = np.array(list("ABCDEFGHIJKLMNOPQRST"), dtype=object)
SURFACES = {
    1: (np.array(["O", "M", "D", "B", "L"], dtype=object), np.array(["M", "D", "F", "L", "I"], dtype=object)),
    2: (np.array(["MO", "DO", "OB", "OL"], dtype=object), np.array(["MF", "DF", "ML", "DL"], dtype=object)),
    3: (
        np.array(["MOD", "MOB", "DOL", "MODB"], dtype=object),
        np.array(["MDF", "MFL", "DFL", "MDL"], dtype=object),
    ),
}
SURFACE_COUNT = {"D2140": 1, "D2150": 2, "D2330": 1, "D2331": 2, "D2391": 1, "D2392": 2, "D2393": 3}
CHILD_FINDINGS = (("D2391", 30), ("D2392", 15), ("D2140", 5), ("D1351", 40), ("D7140", 6), ("D2330", 4))
FINDING_COUNTS = np.array([1, 2, 3, 4])
FINDING_COUNT_WEIGHTS = (0.36, 0.30, 0.20, 0.14)
VISIT_MINUTES = 120  # accepted treatment is booked in visits of about two hours
MINUTES = np.array([c.minutes for c in catalog.CODES])
MAJOR = np.array([c.coverage == "major" for c in catalog.CODES])
HYGIENE = np.array([c.hygiene for c in catalog.CODES])
ADULT_FLUORIDE = 0.3


def _procs(vid, pat, code, status, day, prov, entry, **extra) -> pl.DataFrame:
    n = len(pat)
    data = {
        "_vid": vid,
        "PatNum": pat,
        "_code": code,
        "ProcStatus": np.broadcast_to(status, n),
        "_day": day,
        "ProvNum": prov,
        "_entry": entry,
    }
    data.update(
        {
            "_tp_day": np.full(n, NO_DAY),
            "_planned_vid": np.zeros(n, np.int64),
            "_finding": np.zeros(n, bool),
            "UnitQty": np.ones(n, np.int64),
            "ToothNum": np.full(n, "", dtype=object),
            "Surf": np.full(n, "", dtype=object),
        }
    )
    data.update(extra)
    text = {"ToothNum", "Surf"}  # object arrays: typed explicitly so empty parts concatenate
    frame = pl.DataFrame(
        [
            pl.Series(k, list(v), dtype=pl.String) if k in text else pl.Series(k, np.asarray(v))
            for k, v in data.items()
        ]
    )
    return frame.with_columns(
        pl.col(c).cast(pl.Int64)
        for c in (
            "_vid",
            "PatNum",
            "_code",
            "ProcStatus",
            "_day",
            "ProvNum",
            "_entry",
            "_tp_day",
            "_planned_vid",
            "UnitQty",
        )
    )


def routine(visits: pl.DataFrame, p: Patients, rng: np.random.Generator) -> pl.DataFrame:
    """Hygiene and emergency visit procedures: completed, or TP on a future appointment or on a
    broken one that was never rebooked (where they stay attached, as in OpenDental)."""
    never = (
        (pl.col("_kind") == "H")
        & (pl.col("_form") == NOT_REBOOKED)
        & pl.col("_status").is_in([BROKEN, UNSCHED])
    )
    v = visits.filter(
        (pl.col("_kind").is_in(["H", "E"]) & pl.col("_status").is_in([COMPLETE, SCHEDULED])) | never
    )
    vid, kind, day, k = (v[c].to_numpy() for c in ("_vid", "_kind", "_day", "_k"))
    pat = v["PatNum"].to_numpy() - 1
    status = np.where(v["_status"].to_numpy() == COMPLETE, DONE, TP)
    child, perio = p.child[pat], p.perio[pat]
    hyg = kind == "H"
    new = hyg & (k == 0)
    parts = []

    dent, hygienist = p.dentist[pat], p.hygienist[pat]

    def add(mask, code, units=None):
        """Procedures on the visits in `mask`; as OpenDental assigns them in a two-provider
        appointment: the hygienist for codes marked Is Hygiene, the dentist for the rest (exams,
        radiographs)."""
        idx = np.flatnonzero(mask)
        codes = np.broadcast_to(np.asarray(code), len(mask))[idx]
        provs = np.where(HYGIENE[codes] & hyg[idx], hygienist[idx], dent[idx])
        u = np.ones(len(idx), np.int64) if units is None else np.broadcast_to(units, len(mask))[idx]
        entry = day[idx].astype(np.int64) * DAY + 8 * 3600
        parts.append(_procs(vid[idx], pat[idx] + 1, codes, status[idx], day[idx], provs, entry, UnitQty=u))

    add(hyg, np.where(new, np.where(perio, C["D0180"], C["D0150"]), C["D0120"]))
    add(hyg, np.where(child, C["D1120"], np.where(perio, np.where(new, C["D4355"], C["D4910"]), C["D1110"])))
    pano = rng.random(len(k)) < 0.3
    add(new & ~child, np.where(pano, C["D0330"], C["D0210"]))
    add((new & ~child & pano) | (hyg & ~new & (k % 2 == 0)), np.where(child, C["D0272"], C["D0274"]))
    add(new & child, C["D0272"])
    add(hyg & ~new & ~child & (k % 6 == 3), C["D0210"])
    add(hyg & (child | (rng.random(len(k)) < ADULT_FLUORIDE)), C["D1206"])
    em = kind == "E"
    add(em, C["D0140"])
    add(em, C["D0220"])
    add(em & (rng.random(len(k)) < 0.3), C["D0230"], units=rng.integers(2, 4, len(k)))
    treat = pick(rng, [C["D9110"], C["D7140"], C["D3330"], -1], [0.22, 0.19, 0.14, 0.45], len(k))
    add(em & (treat >= 0), treat)
    return pl.concat(parts)


def findings(
    visits: pl.DataFrame, p: Patients, rng: np.random.Generator, cal: Calendar | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Treatment found at exams, and the restorative (R) and planned (P) visits it leads to.

    An adult recall exam finds treatment for about a third of the patients (`p.caries_rate`; more at
    a new-patient exam, less for children), 1-4 procedures. Each is accepted with the patient's
    acceptance (less for major work); accepted work is done in visits of about two hours a few days
    to a few months after the exam, on the dentist's days."""
    ex = visits.filter(pl.col("_kind").is_in(["H", "E"]) & (pl.col("_status") == COMPLETE))
    vid, kind, day, k = (ex[c].to_numpy() for c in ("_vid", "_kind", "_day", "_k"))
    pat = ex["PatNum"].to_numpy() - 1
    n_ex = len(vid)
    new = (kind == "H") & (k == 0)
    factor = np.where(new, 1.6, np.where(kind == "E", 0.7, 1.0)) * np.where(p.child[pat], 0.55, 1.0)
    found = rng.random(n_ex) < 1.0 - np.exp(-p.caries_rate[pat] * factor)
    count = pick(rng, FINDING_COUNTS, FINDING_COUNT_WEIGHTS, n_ex) + (new & (rng.random(n_ex) < 0.4))
    count = np.where(found, np.minimum(count, FINDING_COUNTS[-1]), 0)
    parent, _ = explode_counts(count)
    n = len(parent)
    f_pat = pat[parent]
    child = p.child[f_pat]
    adult_code = pick(rng, [C[c] for c, _ in catalog.FINDINGS], [w for _, w in catalog.FINDINGS], n)
    child_code = pick(rng, [C[c] for c, _ in CHILD_FINDINGS], [w for _, w in CHILD_FINDINGS], n)
    code = np.where(child, child_code, adult_code)
    # a crown often needs a buildup; surgery sometimes sedation (billed in 15-minute units)
    crown = np.isin(code, [C["D2740"], C["D2750"]]) & (rng.random(n) < 0.45)
    sed = np.isin(code, [C["D6010"], C["D7240"], C["D7210"]]) & (rng.random(n) < 0.15)
    parent = np.r_[parent, parent[crown], parent[sed]]
    tooth_src = np.r_[np.arange(n), np.flatnonzero(crown), np.full(sed.sum(), -1)]
    code = np.r_[code, np.full(crown.sum(), C["D2950"]), np.full(sed.sum(), C["D9223"])]
    units = np.r_[np.ones(n + crown.sum(), np.int64), rng.integers(2, 5, sed.sum())]
    m = len(parent)
    f_pat = pat[parent]
    child = p.child[f_pat]
    tooth, surf = _teeth(code, child, rng)
    tooth = np.where(tooth_src >= 0, tooth[np.maximum(tooth_src, 0)], tooth)
    exam_vid, exam_day = vid[parent], day[parent]

    major = MAJOR[code]
    accept_p = p.acceptance[f_pat] * np.where(major, 0.85, 1.0) * np.where(code == C["D9972"], 0.5, 1.0)
    accepted = rng.random(m) < accept_p
    # a buildup/sedation follows its main procedure's decision, and goes to the same visit
    main = np.r_[np.arange(n), np.flatnonzero(crown), np.flatnonzero(sed)]
    accepted = accepted[main]
    referred = accepted & (
        ((code == C["D7240"]) & (rng.random(m) < 0.5)) | ((code == C["D3330"]) & (rng.random(m) < 0.25))
    )
    to_visit = accepted & ~referred

    # accepted work of an exam in visits of about two hours: chunks of the main procedures' minutes
    minutes = np.where(to_visit, MINUTES[code] * np.maximum(units, 1), 0)
    main_minutes = np.bincount(main, weights=minutes, minlength=n)
    ends = np.cumsum(main_minutes)
    exam_start = np.r_[0.0, ends][np.searchsorted(parent[:n], parent[:n], side="left")]
    chunk = (((ends - main_minutes) - exam_start) // VISIT_MINUTES).astype(np.int64)[main]
    key = exam_vid * 16 + np.minimum(chunk, 15)
    groups, g_of = np.unique(np.where(to_visit, key, -1), return_inverse=True)
    if len(groups) and groups[0] == -1:
        groups, g_of = groups[1:], g_of - 1
    g_exam = np.searchsorted(vid, groups // 16)
    g_chunk = groups % 16
    g_pat = pat[g_exam]
    g_exam_day = day[g_exam]
    exam_delay = 2 + rng.gamma(1.3, 18.0, n_ex).astype(np.int64)
    g_day = place(
        cal,
        g_exam_day + exam_delay[g_exam] + g_chunk * rng.integers(7, 22, len(groups)),
        p.dentist[g_pat],
        p.clinic[g_pat],
    )
    done = g_day <= np.minimum(p.leave[g_pat], p.last)
    booked = ~done & (g_day >= p.today) & (p.leave[g_pat] > p.last)
    g_keep = done | booked
    start = int(visits["_vid"].max()) + 1  # type: ignore[arg-type]
    g_vid = np.arange(start, start + len(groups))
    r_visits = _frame(
        _vid=g_vid[g_keep],
        PatNum=g_pat[g_keep] + 1,
        _kind=np.full(g_keep.sum(), "R"),
        _day=g_day[g_keep],
        _status=np.where(done[g_keep], COMPLETE, SCHEDULED),
        _exam_vid=vid[g_exam][g_keep],
        _exam_day=g_exam_day[g_keep],
    )
    g_safe = np.maximum(g_of, 0)
    on_visit = to_visit & g_keep[g_safe]
    f_rvid = np.where(on_visit, g_vid[g_safe], 0)
    status = np.where(on_visit, np.where(done[g_safe], DONE, TP), TP)
    status = np.where(referred, REFERRED, status)
    r = rng.random(m)
    waiting = (status == TP) & (f_rvid == 0)
    status = np.where(
        waiting & (r < 0.12), TP_INACTIVE, np.where(waiting & (r >= 0.12) & (r < 0.16), DELETED, status)
    )
    proc_day = np.where(on_visit, g_day[g_safe], exam_day)

    # planned appointments for part of what is still waiting
    still = (status == TP) & (f_rvid == 0)
    p_groups = np.unique(exam_vid[still])
    p_groups = p_groups[rng.random(len(p_groups)) < 0.25]
    p_start = start + len(groups)
    p_vid = np.arange(p_start, p_start + len(p_groups))
    p_exam_idx = np.searchsorted(vid, p_groups)
    planned = _frame(
        _vid=p_vid,
        PatNum=pat[p_exam_idx] + 1,
        _kind=np.full(len(p_groups), "P"),
        _day=day[p_exam_idx],
        _status=np.full(len(p_groups), PLANNED),
        _exam_vid=p_groups,
        _exam_day=day[p_exam_idx],
    )
    f_planned = np.zeros(m, np.int64)
    if len(p_groups):
        at = np.clip(np.searchsorted(p_groups, exam_vid), 0, len(p_groups) - 1)
        f_planned = np.where(still & (p_groups[at] == exam_vid), p_vid[at], 0)

    prov = np.where(np.isin(code, [C["D4341"], C["D4342"]]), p.hygienist[f_pat], p.dentist[f_pat])
    entry = exam_day.astype(np.int64) * DAY + 12 * 3600 + rng.integers(0, 4 * 3600, m)
    procs = _procs(
        f_rvid,
        f_pat + 1,
        code,
        status,
        proc_day,
        prov,
        entry,
        _tp_day=exam_day,
        _planned_vid=f_planned,
        _finding=np.ones(m, bool),
        UnitQty=units,
        ToothNum=tooth,
        Surf=surf,
    )
    return procs, pl.concat([r_visits, planned])


def _teeth(code: np.ndarray, child: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = len(code)
    area = np.array([catalog.CODES[c].treat_area for c in range(len(catalog.CODES))])[code]
    anterior_code = np.isin(code, [C["D2330"], C["D2331"], C["D3310"]])
    tooth = (
        np.where(anterior_code, rng.choice(ANTERIOR, n), rng.choice(POSTERIOR, n)).astype(str).astype(object)
    )
    tooth = np.where(
        child & (rng.random(n) < 0.5) & np.isin(code, [C["D2391"], C["D2140"], C["D7140"]]),
        rng.choice(PRIMARY, n),
        tooth,
    )
    tooth = np.where((area == 2) | (area == 1), tooth, "")
    surf = np.full(n, "", dtype=object)
    for code_text, count in SURFACE_COUNT.items():
        mask = code == C[code_text]
        post, ant = SURFACES[count]
        surf = np.where(mask, np.where(anterior_code, rng.choice(ant, n), rng.choice(post, n)), surf)
    surf = np.where(area == 4, rng.choice(np.array(["UR", "UL", "LR", "LL"], dtype=object), n), surf)
    surf = np.where(area == 6, rng.choice(np.array(["U", "L"], dtype=object), n), surf)
    return tooth, surf


def existing(visits: pl.DataFrame, p: Patients, rng: np.random.Generator) -> pl.DataFrame:
    """Work new adult patients arrive with: existing other/current provider, and conditions."""
    v = visits.filter((pl.col("_kind") == "H") & (pl.col("_k") == 0) & (pl.col("_status") == COMPLETE))
    pat = v["PatNum"].to_numpy() - 1
    adult = ~p.child[pat]
    count = np.where(adult, rng.poisson(1.4, len(pat)), 0)
    parent, _ = explode_counts(count)
    n = len(parent)
    codes = pick(
        rng,
        [C[c] for c in ("D2391", "D2392", "D2740", "D2750", "D3330", "D7140", "D6010")],
        [30, 20, 15, 10, 8, 12, 3],
        n,
    )
    status = pick(rng, [EO, EC, CONDITION], [0.7, 0.1, 0.2], n)
    codes = np.where(status == CONDITION, C["D2391"], codes)
    tooth, surf = _teeth(codes, np.zeros(n, bool), rng)
    day = v["_day"].to_numpy()[parent]
    f_pat = pat[parent]
    tp_day = np.where(rng.random(n) < 0.3, np.iinfo(np.int32).min, NO_DAY)  # zero dates in old charting
    return _procs(
        np.zeros(n, np.int64),
        f_pat + 1,
        codes,
        status,
        day,
        p.dentist[f_pat],
        day.astype(np.int64) * DAY + 9 * 3600,
        _tp_day=tp_day,
        ToothNum=tooth,
        Surf=surf,
    )


def broken_charges(visits: pl.DataFrame, p: Patients, rng: np.random.Generator) -> pl.DataFrame:
    """D9986 (missed) / D9987 (cancelled) charged for part of the broken appointments."""
    b = visits.filter(
        (pl.col("_form") > 0) & pl.col("_kind").is_in(["H", "R", "B"]) & (pl.col("_break_day") > 0)
    )
    action = b["_break_action"].to_numpy()
    r = rng.random(b.height)
    charged = ((action == 2) & (r < 0.35)) | ((action == 3) & (r < 0.2))
    b = b.filter(pl.Series(charged))
    pat = b["PatNum"].to_numpy() - 1
    day = b["_break_day"].to_numpy()
    code = np.where(b["_break_action"].to_numpy() == 2, C["D9986"], C["D9987"])
    return _procs(
        np.zeros(b.height, np.int64),
        pat + 1,
        code,
        DONE,
        day,
        p.dentist[pat],
        day.astype(np.int64) * DAY + 16 * 3600,
    )


def membership_fees(p: Patients, rng: np.random.Generator) -> pl.DataFrame:
    """Monthly membership fees (repeat charges) on the guarantor of member families, while active."""
    guar = np.flatnonzero(p.member & p.is_guarantor & p.has_visits)
    guar = guar[rng.random(len(guar)) < 0.6]  # the others pay a yearly fee at a visit (not modelled)
    start = np.maximum(p.join[guar], p.start)
    end = np.minimum(p.leave[guar], p.last)
    months = np.maximum((end - start) // 30, 0)
    parent, m = explode_counts(months)
    day = start[parent] + 30 * (m + 1)
    pat = guar[parent]
    keep = day <= p.last
    day, pat = day[keep], pat[keep]
    return _procs(
        np.zeros(len(pat), np.int64),
        pat + 1,
        np.full(len(pat), C["MEMB"]),
        DONE,
        day,
        p.dentist[pat],
        day.astype(np.int64) * DAY + 2 * 3600,
    )
