"""Pools of fake names and addresses, drawn once from a seeded Faker and then sampled with numpy.

Faker is slow per call and its output is the only "realistic text" we need; sampling from pools
keeps generation vectorised and the data obviously fake (no real patients)."""

from __future__ import annotations

import numpy as np
from faker import Faker


class Pools:
    """Names, streets, cities and employers; `size` entries each (a few thousand is plenty)."""

    def __init__(self, seed: int, size: int = 2_000) -> None:
        fake = Faker("en_US")
        fake.seed_instance(seed)
        self.first_male = np.array([fake.first_name_male() for _ in range(size)], dtype=object)
        self.first_female = np.array([fake.first_name_female() for _ in range(size)], dtype=object)
        self.last = np.array([fake.last_name() for _ in range(size)], dtype=object)
        self.street = np.array([fake.street_address() for _ in range(size)], dtype=object)
        places = [
            (fake.city(), fake.state_abbr(include_territories=False), fake.zipcode())
            for _ in range(size // 10)
        ]
        self.city = np.array([p[0] for p in places], dtype=object)
        self.state = np.array([p[1] for p in places], dtype=object)
        self.zip = np.array([p[2] for p in places], dtype=object)
        self.company = np.array([fake.company() for _ in range(size // 4)], dtype=object)
        self.sentence = np.array([fake.sentence(nb_words=8) for _ in range(size // 4)], dtype=object)


def phone_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """(555)xxx-xxxx numbers: 555 exchanges are fictional."""
    area = rng.integers(201, 990, n)
    line = rng.integers(100, 200, n)  # 555-0100 .. 555-0199 are reserved for fiction
    return np.char.add(np.char.add(np.char.add("(", area.astype(str)), ")555-0"), line.astype(str)).astype(
        object
    )
