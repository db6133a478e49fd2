"""The one threshold: no member-derived figure, or difference of figures, is between 1 and K - 1."""

from __future__ import annotations

import math

K = 10


def rounded(n: float) -> int:
    """A member figure as published: the nearest multiple of K (halves up).

    Rounding is monotone and maps sums of whole atoms (0 or at least K each) that differ by at
    least K to figures that differ by at least K, so it never undoes the atom rule; on top of it,
    any two published figures (of any caller, any scope) differ by 0 or by a multiple of K."""
    return int(K * math.floor(n / K + 0.5))


def shown(n: int) -> int | None:
    """A member count as published to someone who may not see the members themselves: the
    count when it is 0 or at least K, else None (held back: "fewer than K")."""
    return n if n == 0 or n >= K else None


def at_least(n: int) -> int | None:
    """A live member count as published (a counter that grows as people act, watched over time
    or in nested scopes): 0, or the multiple of K at or below it ("at least"), None under K
    (held back). Two such figures differ by 0 or a multiple of K, so neither watching a counter
    move nor subtracting a sub-scope's counter tells how many people acted in between."""
    if n == 0:
        return 0
    return K * (n // K) if n >= K else None


# Published size classes of a member count (a map symbol's size): the count itself never leaves.
SIZE_CLASSES = (K, 5 * K, 20 * K)  # 10-49: 1, 50-199: 2, 200 and more: 3


def size_class(n: int) -> int | None:
    """A member count as a published size class (1, 2, 3), None under K (held back)."""
    if n < K:
        return None
    return sum(1 for lower in SIZE_CLASSES if n >= lower)


# A size class as a weight: about the middle of the class (under K: K/2; the last: its bound).
CLASS_WEIGHTS = (K // 2, 3 * K, 125, 20 * K)


def size_weight(n: int) -> int:
    """A member count as a weight (a parent's mean of its children's scores) that tells no more
    than `size_class` does (none and 1-9 alike weigh K/2). Weighting by the counts themselves
    would let two children's scores and their mean give the ratio of their counts."""
    return CLASS_WEIGHTS[size_class(n) or 0]
