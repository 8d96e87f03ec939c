"""Change against an earlier period, and whether it is good news (docs/metrics.md, "Change")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Better(StrEnum):
    """Which way a number should move: a lower first response time is good, more volume is neither."""

    HIGHER = "higher"
    LOWER = "lower"
    NEITHER = "neither"


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    FLAT = "flat"


@dataclass(frozen=True)
class Change:
    current: float | None
    previous: float | None
    better: Better

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def ratio(self) -> float | None:
        """Relative change (0.25 is +25%); None when there is nothing to compare with or it was 0."""
        if self.delta is None or not self.previous:
            return None
        return self.delta / abs(self.previous)

    @property
    def direction(self) -> Direction | None:
        if self.delta is None:
            return None
        if abs(self.delta) < 1e-9:
            return Direction.FLAT
        return Direction.UP if self.delta > 0 else Direction.DOWN

    @property
    def good(self) -> bool | None:
        """True for good news, False for bad, None when it is neither or nothing moved."""
        direction = self.direction
        if direction in (None, Direction.FLAT) or self.better is Better.NEITHER:
            return None
        return (direction is Direction.UP) == (self.better is Better.HIGHER)
