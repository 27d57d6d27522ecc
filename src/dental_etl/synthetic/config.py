"""What practice to generate: seed, size, the day it is "today", and how many years of history.

Size can be given as a patient count or as a target total row count across the 42 tables; the
second is translated into patients with a calibration measured on generated practices
(`ROWS_PER_PATIENT`, `FIXED_ROWS`; re-measure with `benchmarks/generate.py` after changing the
simulation's rates).
"""

from __future__ import annotations

from datetime import date

import msgspec

from dental_etl.errors import ConfigError

MIN_PATIENTS = 50
MAX_PATIENTS = 1_000_000
MIN_YEARS = 1
MAX_YEARS = 30

# Measured: rows across all 42 tables per patient (default years) and the practice's fixed rows
# (codes, fees, definitions ...): a least-squares line (relative error) through six seed-42 practices
# of 1,000 to 30,000 patients, each within 3 % of it. Re-measure after changing the simulation
# (benchmarks/generate.py reports rows for a row target).
ROWS_PER_PATIENT = 258.3
FIXED_ROWS = 37_000


class GeneratorConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One synthetic practice. The same config always yields byte-identical tables."""

    seed: int = 42
    patients: int = 1_000
    today: date = msgspec.field(default_factory=date.today)
    years: int = 6
    clinics: int = 2

    @classmethod
    def for_rows(cls, rows: int, **kwargs: object) -> GeneratorConfig:
        """A practice whose tables hold about `rows` rows in total."""
        smallest = min_rows()
        if rows < smallest:
            raise ConfigError(
                f"--rows {rows:,} is below the smallest practice "
                f"({smallest:,} rows for {MIN_PATIENTS} patients)"
            )
        patients = round((rows - FIXED_ROWS) / ROWS_PER_PATIENT)
        config = cls(patients=patients, **kwargs)  # type: ignore[arg-type]
        config.validate()
        return config

    def validate(self) -> None:
        """Refuse nonsense before anything is generated or written."""
        if self.patients < MIN_PATIENTS:
            raise ConfigError(
                f"--patients {self.patients} is too small: a practice needs at least {MIN_PATIENTS}"
            )
        if self.patients > MAX_PATIENTS:
            raise ConfigError(
                f"--patients {self.patients:,} is more than the largest supported practice ({MAX_PATIENTS:,})"
            )
        if not MIN_YEARS <= self.years <= MAX_YEARS:
            raise ConfigError(f"--years {self.years} must be between {MIN_YEARS} and {MAX_YEARS}")
        if not 1 <= self.clinics <= 20:
            raise ConfigError(f"--clinics {self.clinics} must be between 1 and 20")
        if self.today.year - self.years < 1971:
            raise ConfigError(f"--today {self.today} with {self.years} years of history starts before 1971")
        if self.seed < 0:
            raise ConfigError(f"--seed {self.seed} must be zero or positive")


def min_rows() -> int:
    return int(FIXED_ROWS + MIN_PATIENTS * ROWS_PER_PATIENT)


def max_rows() -> int:
    return int(FIXED_ROWS + MAX_PATIENTS * ROWS_PER_PATIENT)
