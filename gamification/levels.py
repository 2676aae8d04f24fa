"""The level curve: level n starts at LEVEL_BASE_XP * n * (n - 1) / 2 XP.

With the default base of 100: level 1 at 0 XP, 2 at 100, 3 at 300, 4 at 600, 5 at 1 000, 10 at 4 500. Each level
takes `base` XP more than the one before, so early levels come quickly and later ones keep meaning something.
"""

import math
from dataclasses import dataclass

from django.conf import settings


def level_base() -> int:
    return int(settings.GAMIFICATION_LEVEL_BASE_XP)


def level_start(level: int) -> int:
    """The total XP at which `level` begins."""
    return level_base() * level * (level - 1) // 2


def level_for(xp: int) -> int:
    """The level of a total of `xp` (level 1 from 0 XP)."""
    if xp <= 0:
        return 1
    # Solve base * n * (n - 1) / 2 <= xp for the largest whole n, then mend float rounding at the edges.
    level = int((1 + math.sqrt(1 + 8 * xp / level_base())) / 2)
    while level_start(level + 1) <= xp:
        level += 1
    while level > 1 and level_start(level) > xp:
        level -= 1
    return level


@dataclass(frozen=True)
class LevelProgress:
    xp: int
    level: int
    level_start_xp: int
    next_level_xp: int
    xp_into_level: int
    xp_to_next_level: int
    progress_percent: float


def level_progress(xp: int) -> LevelProgress:
    level = level_for(xp)
    start, following = level_start(level), level_start(level + 1)
    return LevelProgress(
        xp=xp,
        level=level,
        level_start_xp=start,
        next_level_xp=following,
        xp_into_level=xp - start,
        xp_to_next_level=following - xp,
        progress_percent=round(100 * (xp - start) / (following - start), 1),
    )
