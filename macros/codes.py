"""CDT code groups the KPIs share (one definition, used by every model that needs it)."""

from __future__ import annotations

import typing as t

from sqlglot import exp
from sqlmesh import macro

# booked with recall (hygiene) visits rather than diagnosed: scheduling them is not accepting a case
_ROUTINE_PREFIXES = ("D0", "D1")  # diagnostic, preventive
_ROUTINE_CODES = ("D4910", "D4355")  # periodontal maintenance, full mouth debridement


@macro()
def is_routine_care(evaluator: t.Any, code: exp.Expression) -> exp.Expression:
    """TRUE for routine care codes: diagnostic (D0xxx), preventive (D1xxx), D4910 and D4355."""
    prefixes = [exp.Like(this=code.copy(), expression=exp.Literal.string(f"{p}%")) for p in _ROUTINE_PREFIXES]
    listed = exp.In(this=code.copy(), expressions=[exp.Literal.string(c) for c in _ROUTINE_CODES])
    return exp.paren(exp.or_(*prefixes, listed))
