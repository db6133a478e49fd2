"""Privacy in one place: the one threshold K = 10 and every rule that publishes member figures.

- `threshold`: K, `rounded` (member figures of analyses are published as multiples of K),
  `shown` (a count of people published as itself when 0 or at least K, else held back),
  `at_least` (a live count, watched as it moves: 0 or the multiple of K at or below it),
  `size_class` (a member count as a symbol's size class, none under K) and `size_weight` (a
  member count as a weight that tells no more than its size class).
- `tree`: the fixed H3 tree and its atoms (heat layers, /api/heatmap; disjoint groups of 0 or ≥ K).
- `atoms`: analyses (coverage) count members by whole atoms placed at their cells' centres.
- `groups`: organisation-tree counts (page data): a laminar family published top down.
- `lattice`: the fixed lattices that radius, minutes, candidate points and bboxes are snapped to.

No other module defines its own threshold: they import K from here.
"""

from __future__ import annotations

from geo.privacy.threshold import K, at_least, rounded, shown, size_class, size_weight

__all__ = ["K", "at_least", "rounded", "shown", "size_class", "size_weight"]
