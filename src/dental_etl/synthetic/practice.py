"""`generate_practice(config) -> Practice`: the whole synthetic OpenDental database in memory.

`Practice.tables` holds all 42 core tables with every column, in schema order, typed to match
the MySQL types (see columns.py; NULL in a date column = MySQL zero date). `Practice.to_arrow()`
gives the same data in the warehouse's raw format (raw_schema.py), exactly what the loader would
produce from MySQL, so the demo and the models' tests need no MySQL server.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
import polars as pl
import pyarrow as pa

from dental_etl import raw_schema
from dental_etl.opendental.schema import load_schema
from dental_etl.synthetic import activity, insurance, ledger, records
from dental_etl.synthetic.clinical import Clinical
from dental_etl.synthetic.columns import complete, table
from dental_etl.synthetic.config import GeneratorConfig
from dental_etl.synthetic.money import Money
from dental_etl.synthetic.people import Patients
from dental_etl.synthetic.pools import Pools
from dental_etl.synthetic.rand import DAY, NO_DAY, dates, rng_for
from dental_etl.synthetic.reference import Reference
from dental_etl.synthetic.staffing import staff_practice
from dental_etl.synthetic.timestamps import stamp, upgrade_time


class Practice(msgspec.Struct):
    """A generated practice: `tables` maps every core table name to its complete frame."""

    config: GeneratorConfig
    tables: dict[str, pl.DataFrame]

    @property
    def row_count(self) -> int:
        return sum(f.height for f in self.tables.values())

    def to_arrow(self, *, loaded_at: datetime | None = None, sync_run_id: int = 0) -> dict[str, pa.Table]:
        """Every table as the loader writes it into `raw.<table>` (lower-case names, raw types,
        zero dates NULL, TIME as duration, timestamps UTC, NUL characters stripped, metadata)."""
        stamp_at = loaded_at or datetime.now(UTC)
        return {name: arrow_table(name, frame, stamp_at, sync_run_id) for name, frame in self.tables.items()}


def arrow_schema(name: str) -> pa.Schema:
    """The raw table's Arrow schema: the loader's (`raw_schema.arrow_schema`) for the table's columns."""
    return raw_schema.arrow_schema((c.name, c.mysql_type) for c in table(name).columns)


def arrow_table(name: str, frame: pl.DataFrame, loaded_at: datetime, sync_run_id: int) -> pa.Table:
    schema = arrow_schema(name)
    exprs = []
    for col, field in zip(table(name).columns, schema, strict=False):
        expr = pl.col(col.name)
        if col.is_timestamp:
            expr = expr.dt.replace_time_zone("UTC")
        elif frame.schema[col.name] == pl.String:
            expr = expr.str.replace_all("\x00", "", literal=True)
        exprs.append(expr.alias(field.name))
    data = frame.select(exprs).to_arrow()
    if loaded_at.tzinfo is None:
        loaded_at = loaded_at.replace(tzinfo=UTC)
    n = data.num_rows
    data = data.append_column(raw_schema.LOADED_AT, pa.array([loaded_at] * n, pa.timestamp("us", tz="UTC")))
    data = data.append_column(raw_schema.SYNC_RUN_ID, pa.array(np.full(n, sync_run_id, np.int64), pa.int64()))
    return data.cast(schema)


def generate_practice(config: GeneratorConfig) -> Practice:
    """Simulate the practice; the same config gives byte-identical tables."""
    config.validate()
    seed = config.seed
    pools = Pools(seed)
    ref = Reference(config, pools)
    p = Patients(config, ref, pools)
    cal = staff_practice(config, p, ref)
    clinical = Clinical(config, p, ref, cal)
    procs = clinical.procs
    ins = insurance.build(procs, p, ref, rng_for(seed, "insurance"))
    cash = Money(procs, ins["_ins"], clinical.visits, p, ref, rng_for(seed, "money"))
    v = clinical.visits
    tp, proctp = records.treatment_plans(procs, ins["_ins"], p, ref, rng_for(seed, "treatplan"))
    out: dict[str, pl.DataFrame] = dict(ref.tables)
    out.update(
        {
            "appointment": clinical.appointments,
            "histappointment": clinical.history,
            "entrylog": clinical.entry_log,
            "procedurelog": procs,
            "claim": ins["claim"],
            "claimproc": ins["claimproc"],
            "claimpayment": ins["claimpayment"],
            "payment": cash.payment,
            "paysplit": cash.paysplit,
            "adjustment": cash.adjustment,
            "payplan": cash.payplan,
            "payplancharge": cash.payplancharge,
            "inssub": p.inssub,
            "patplan": p.patplan,
            "recall": records.recall(v, p, ref, rng_for(seed, "recall")),
            "treatplan": tp,
            "proctp": proctp,
            "refattach": records.referrals(procs, p, ref, rng_for(seed, "refattach")),
            "procnote": records.proc_notes(procs, v, ref, rng_for(seed, "procnote")),
            "document": records.documents(procs, p, ref, rng_for(seed, "document")),
            "sheet": records.sheets(v, p, rng_for(seed, "sheet")),
            "task": activity.tasks(p, ref, rng_for(seed, "task")),
            "schedule": activity.schedule(p, ref, cal, rng_for(seed, "schedule")),
        }
    )
    out["statement"] = activity.statements(cash.paysplit, procs, p, rng_for(seed, "statement"))
    out["commlog"] = activity.commlog(v, out["statement"], p, ref, rng_for(seed, "commlog"))
    out["patient"] = _patients(p, out, seed)
    out["securitylog"] = activity.security_log(_audit_events(out, p), ref, p, rng_for(seed, "securitylog"))
    upgrade = upgrade_time(p.today)
    setup = (p.start - 30) * DAY + 9 * 3600
    tables = {}
    for spec in load_schema():
        frame = stamp(spec.name, out[spec.name], upgrade=upgrade, cap=p.cap, setup=setup)
        if spec.name == "patient":
            frame = _aging_bump(frame, p)
        tables[spec.name] = complete(spec.name, frame)
    return Practice(config=config, tables=tables)


def _patients(p: Patients, out: dict[str, pl.DataFrame], seed: int) -> pl.DataFrame:
    """The patient frame with first visits and the family balances on guarantor rows."""
    procs = out["procedurelog"]
    # the first visit ever, which for established patients predates the history in the database
    seen = p.has_visits & (p.join <= p.last)
    first = np.where(seen, p.join, NO_DAY)
    rng = rng_for(seed, "firstvisit")
    unknown = seen & (p.join < p.start) & (rng.random(len(first)) < 0.1)  # lost in an old conversion
    frame = p.frame.sort("PatNum").with_columns(
        DateFirstVisit=pl.when(pl.Series(unknown)).then(None).otherwise(dates(first))
    )
    guarantor = frame.select("PatNum", "Guarantor")
    as_of = pl.select(pl.lit(p.today).cast(pl.Date)).item()
    balances = ledger.family_balances(
        procs, out["adjustment"], out["paysplit"], out["claimproc"], guarantor, as_of
    )
    frame = frame.join(balances.rename({"Guarantor": "PatNum"}), on="PatNum", how="left")
    frame = frame.with_columns(pl.col(c).fill_null(0.0) for c in ledger.BALANCE_COLUMNS)
    last_visit = (
        procs.filter(pl.col("ProcStatus") == 2)
        .group_by("PatNum")
        .agg(_last=pl.col("ProcDate").max().cast(pl.Int32).cast(pl.Int64))
    )
    frame = frame.join(last_visit, on="PatNum", how="left")
    return frame.with_columns(
        EstBalance=pl.col("BalTotal"),
        _edit=pl.max_horizontal(pl.col("_entry"), pl.col("_last").fill_null(0) * DAY + 16 * 3600),
    )


def _aging_bump(frame: pl.DataFrame, p: Patients) -> pl.DataFrame:
    """The nightly aging job rewrote every guarantor with a balance at 01:30 on the last day."""
    night = datetime(1970, 1, 1) + timedelta(seconds=int(min(p.cap, p.last * DAY + 5400)))
    return frame.with_columns(
        DateTStamp=pl.when((pl.col("BalTotal") != 0) & (pl.col("PatNum") == pl.col("Guarantor")))
        .then(pl.max_horizontal(pl.col("DateTStamp"), pl.lit(night)))
        .otherwise(pl.col("DateTStamp"))
    )


def _audit_events(out: dict[str, pl.DataFrame], p: Patients) -> list[pl.DataFrame]:
    """Security log events derived from what happened in the other tables."""

    def ev(
        frame: pl.DataFrame,
        perm: int | pl.Expr,
        fkey: str,
        when: pl.Expr,
        text: str | pl.Expr,
        pat: str | None = "PatNum",
    ) -> pl.DataFrame:
        return frame.select(
            PermType=perm if isinstance(perm, pl.Expr) else pl.lit(perm),
            PatNum=pl.col(pat) if pat else pl.lit(0, pl.Int64),
            FKey=pl.col(fkey),
            _when=when.cast(pl.Int64),
            LogText=text if isinstance(text, pl.Expr) else pl.lit(text),
        )

    secs = lambda c: pl.col(c).cast(pl.Int64) // 1_000_000  # noqa: E731  datetime -> seconds
    day_secs = lambda c, h: pl.col(c).cast(pl.Int32).cast(pl.Int64) * DAY + h * 3600  # noqa: E731
    hist = out["histappointment"]
    procs = out["procedurelog"]
    perm = pl.col("HistApptAction").replace_strict(
        {0: 25, 1: 27, 2: 27, 3: 27, 4: 237}, return_dtype=pl.Int64
    )
    action = pl.col("HistApptAction").replace_strict(
        {0: "created", 1: "edited", 2: "broken (missed)", 3: "broken (cancelled)", 4: "deleted"},
        return_dtype=pl.String,
    )
    return [
        ev(
            hist,
            perm,
            "AptNum",
            pl.col("_hist") + 5,
            pl.format("Appointment {} AptNum {}", action, pl.col("AptNum")),
        ),
        ev(
            procs.filter(pl.col("ProcStatus") == 2),
            23,
            "ProcNum",
            pl.col("_edit"),
            pl.format("Procedure completed, fee {}", pl.col("ProcFee")),
        ),
        ev(
            procs.filter(pl.col("_finding")),
            100,
            "ProcNum",
            pl.col("_entry"),
            "Treatment planned procedure added",
        ),
        ev(
            out["payment"],
            15,
            "PayNum",
            pl.col("_edit"),
            pl.format("Payment of {} entered", pl.col("PayAmt")),
        ),
        ev(
            out["adjustment"],
            17,
            "AdjNum",
            pl.col("_edit"),
            pl.format("Adjustment of {} entered", pl.col("AdjAmt")),
        ),
        ev(
            out["claim"].filter(pl.col("ClaimStatus").is_in(["S", "R"])),
            104,
            "ClaimNum",
            day_secs("DateSentOrig", 14),
            "Claim sent",
        ),
        ev(
            out["claimpayment"], 36, "ClaimPaymentNum", pl.col("_edit"), "Insurance payment created", pat=None
        ),
        ev(p.frame, 106, "PatNum", pl.col("_entry"), "Patient created"),
        ev(
            p.frame.filter(p.frame["PatStatus"] < 4),
            108,
            "PatNum",
            pl.col("_entry") + 3 * DAY,
            "Patient edited",
        ),
        ev(
            out["commlog"].filter(pl.col("UserNum") > 0),
            193,
            "CommlogNum",
            pl.col("_edit"),
            "Commlog created",
        ),
        ev(out["document"], 202, "DocNum", pl.col("_edit"), "Image created"),
        ev(out["treatplan"], 38, "TreatPlanNum", pl.col("_edit"), "Treatment plan saved"),
        ev(out["recall"], 156, "RecallNum", pl.col("_edit"), "Recall edited"),
        ev(out["payplan"], 149, "PayPlanNum", day_secs("PayPlanDate", 12), "Payment plan created"),
        ev(out["sheet"], 42, "SheetNum", secs("DateTimeSheet"), "Sheet filled"),
    ]
