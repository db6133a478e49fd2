"""The publication rule of organisation-tree member figures (page data: orgs, stats).

Member counts leave as `members` of an organisation (its own members) and of a subtree or the
whole district, and as `coverage_pct` of a subtree or the district; anything held back is None
(shown as "withheld", 不予公开). These groups are nested or disjoint (a laminar family:
district ⊃ subtree ⊃ … ⊃ an organisation's own members), so every number that can be derived
from published figures by adding and subtracting them is a count of a union of *atoms*: a
published group minus the published groups inside it. The rule (`publish_groups`) keeps every atom
at 0 or at least K, class by class:

- a group is published only when it has at least K members and each class of its members
  (for coverage: covered / not covered / no home) is 0 or at least K;
- and only when what it leaves of the nearest published group around it (that group minus every
  published group inside it so far) still has each class at 0 or at least K.

Groups are decided top down (district, then committees, …, own members last among siblings,
siblings by code), so the big figures win over the detail when they conflict: a branch of 12 next
to a branch of 3 under one committee publishes the committee's 15 and holds back the 12 (else
15 − 12 = 3). `coverage_pct` is published only for a group whose member count is published, by the
same rule over the three classes, so covered and uncovered counts (pct × members) are unions of
atoms as well. Whether a group is published depends only on the data, never on the caller.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from geo.privacy.threshold import K

Counts = tuple[int, ...]
DISTRICT = ("district", 0)


@dataclass(frozen=True)
class Group:
    """A group of members: its parent group, the members in it and in none of its sub-groups
    (`own`, by class), and whether its figure is ever shown (`shown`)."""

    parent: Hashable | None
    own: Counts
    shown: bool = True


def safe(counts: Iterable[int]) -> bool:
    """True when every class count is 0 or at least K."""
    return all(n == 0 or n >= K for n in counts)


def publish_groups(groups: Mapping[Hashable, Group]) -> dict[Hashable, Counts]:
    """The publication rule (module docstring): the groups whose counts may be shown, with their
    counts. `groups` is a forest of nested groups; siblings are decided in mapping order."""
    children: dict[Hashable | None, list[Hashable]] = defaultdict(list)
    for key, group in groups.items():
        children[group.parent].append(key)
    total: dict[Hashable, Counts] = {}

    def add_up(key: Hashable) -> Counts:
        sums = list(groups[key].own)
        for child in children[key]:
            sums = [a + b for a, b in zip(sums, add_up(child), strict=True)]
        total[key] = tuple(sums)
        return total[key]

    left: dict[Hashable, Counts] = {}  # what a published group keeps outside published sub-groups

    def decide(key: Hashable, around: Hashable | None) -> None:
        counts = total[key]
        ok = groups[key].shown and sum(counts) >= K and safe(counts)
        if ok and around is not None:
            rest = tuple(a - b for a, b in zip(left[around], counts, strict=True))
            ok = safe(rest)
            if ok:
                left[around] = rest
        if ok:
            left[key] = counts
            around = key
        for child in children[key]:
            decide(child, around)

    for root in children[None]:  # groups in a parent cycle are never reached, never published
        add_up(root)
        decide(root, None)
    return {key: total[key] for key in left}


def org_forest(
    rows: Sequence[Mapping[str, Any]],
    counts: Callable[[Mapping[str, Any]], Counts],
    shown: Callable[[Hashable], bool],
) -> dict[Hashable, Group]:
    """District ⊃ subtrees ⊃ own members, own-member groups first among siblings. `rows` are
    organisations (id, parent_id, …) in sibling order; `counts(row)` their own members by class."""
    known = {r["id"] for r in rows}
    width = len(counts(rows[0])) if rows else 1
    groups: dict[Hashable, Group] = {DISTRICT: Group(None, (0,) * width, shown(DISTRICT))}
    for r in rows:
        key = ("own", r["id"])
        groups[key] = Group(("org", r["id"]), counts(r), shown(key))
    for r in rows:
        parent = ("org", r["parent_id"]) if r["parent_id"] in known else DISTRICT
        key = ("org", r["id"])
        groups[key] = Group(parent, (0,) * width, shown(key))
    return groups
