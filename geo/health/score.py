"""Organisation health scores: pure functions of the evidence (geo/health/evidence.py), the
rules (geo/health/rules.py) and the day they are computed for.

A rule with a calendar period is judged on its last assessed periods: the most recent periods
whose due day (last day + grace) has passed, as many as fit in a year (12 months, 4 quarters,
2 half-years, 1 year), none that began before the organisation was founded. Its share is the
fraction of those periods with enough meetings (a meeting held within the grace after a period
still counts for it). The term rule is met while the last election's term (plus grace) runs;
dues are flagged when arrears last `arrears_months` consecutive months; size rules look at the
members now. A rule with nothing assessed yet (`not_due`) or not applying (`not_applicable`)
weighs nothing.

An organisation's score is 100 × (Σ weight × share of its own rules + R × its children's
mean score weighted by their member size classes / 100) / (Σ weight + R), R the rules'
`rollup_weight` when it has children (else 0); with nothing to judge, 100. Each rule's `points` are its part of that score
and `lost` what it would add if fully met, so the points of a breakdown add up to the score.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from geo.health.evidence import OrgRecord
from geo.health.periods import (
    DAY,
    PER_YEAR,
    add_months,
    add_years,
    due_on,
    following,
    period_of,
    previous,
)
from geo.health.rules import Rule, RuleSet
from geo.privacy import size_weight

# per period: (Chinese count word, Chinese "each", English unit)
UNITS = {
    "month": ("个月", "月", "month"),
    "quarter": ("个季度", "季度", "quarter"),
    "half-year": ("个半年", "半年", "half-year"),
    "year": ("年", "年", "year"),
}


@dataclass(frozen=True)
class Item:
    """Something a secretary is reminded of: a rule's evidence due on a day, or overdue."""

    rule: str
    kind: str  # due | overdue
    due_on: date
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class RuleResult:
    """One rule of one organisation: its state, share, evidence, dates and points."""

    rule: str
    name_zh: str
    name_en: str
    weight: float
    state: str  # met | partial | missed | not_due | not_applicable
    share: float | None  # None: weighs nothing
    periods: int
    met_periods: int
    evidence_zh: str
    evidence_en: str
    last_fulfilled: date | None = None
    next_due: date | None = None
    missing_since: date | None = None
    items: tuple[Item, ...] = ()
    points: float = 0.0
    lost: float = 0.0


@dataclass(frozen=True)
class OrgScore:
    """One organisation's score: total, status, own and children's parts, the breakdown."""

    org_id: int
    score: float
    status: str
    own_score: float | None
    children_score: float | None
    members: int  # of the subtree (its size class weights the parent's mean; never published)
    rules: tuple[RuleResult, ...]
    children_points: float = 0.0
    children_lost: float = 0.0

    @property
    def items(self) -> tuple[Item, ...]:
        """Every reminder item of its own rules."""
        return tuple(i for r in self.rules for i in r.items)


def _state(met: int, n: int) -> str:
    if n == 0:
        return "not_due"
    return "met" if met == n else ("missed" if met == 0 else "partial")


def _result(rule: Rule, state: str, share: float | None, n: int, k: int, zh: str, en: str,
            **dates: date | tuple[Item, ...] | None) -> RuleResult:  # fmt: skip
    return RuleResult(
        rule.id,
        rule.name_zh,
        rule.name_en,
        rule.weight,
        state,
        share,
        n,
        k,
        zh,
        en,
        **dates,  # type: ignore[arg-type]
    )


def _item(rule: Rule, kind: str, day: date) -> Item:
    return Item(rule.id, kind, day, rule.name_zh, rule.name_en)


def _not_applicable(rule: Rule, zh: str, en: str) -> RuleResult:
    return _result(rule, "not_applicable", None, 0, 0, zh, en)


@dataclass(frozen=True)
class Span:
    """A calendar period [start, end), its due day and the end of its window (end + grace)."""

    start: date
    end: date
    due: date
    window: date


def _span(period: str, grace: int, bounds: tuple[date, date]) -> Span:
    return Span(*bounds, due_on(bounds, grace), bounds[1] + timedelta(days=grace))


@lru_cache(maxsize=1024)
def calendar(period: str, grace: int, d: date) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """The periods a rule of `period` and `grace` is judged on as of `d` (the most recent whose
    due day has passed, a year's worth, most recent first), and the previous, current and next
    periods (the candidates for the next due day). The same for every organisation: cached."""
    found: list[Span] = []
    bounds = previous(period, period_of(period, d))
    while len(found) < PER_YEAR[period]:
        if due_on(bounds, grace) < d:
            found.append(_span(period, grace, bounds))
        bounds = previous(period, bounds)
    current = period_of(period, d)
    around = (previous(period, current), current, following(period, current))
    return tuple(found), tuple(_span(period, grace, b) for b in around)


def _assessed(spans: tuple[Span, ...], founded: date | None) -> tuple[Span, ...]:
    """The judged periods of an organisation: none that began before it was founded."""
    if founded is None:
        return spans
    n = next((i for i, s in enumerate(spans) if s.start < founded), len(spans))
    return spans[:n]


def meeting(rule: Rule, org: OrgRecord, d: date) -> RuleResult:
    """A meeting rule (支部党员大会, 支委会 …) as of day `d`."""
    ev = rule.evidence
    kind, need = str(ev.meeting_kind), ev.min_count
    if ev.min_full_members is not None and org.full_members < ev.min_full_members:
        zh = f"正式党员不足{ev.min_full_members}人，不设支委会"
        return _not_applicable(rule, zh, f"fewer than {ev.min_full_members} full members")
    days, after = org.meetings.get(kind, []), d + DAY

    def met(span: Span) -> bool:
        stop = min(span.window, after)
        return bisect_left(days, stop) - bisect_left(days, span.start) >= need

    judged, candidates = calendar(rule.period, rule.grace_days, d)
    spans = _assessed(judged, org.founded)
    flags = [met(s) for s in spans]
    n, k = len(flags), sum(flags)
    missing = None
    if flags and not flags[0]:
        run = next((i for i, ok in enumerate(flags) if ok), n)
        missing = spans[run - 1].start
    open_ = [
        s
        for s in candidates
        if s.due >= d
        and not (org.founded is not None and s.end <= org.founded)
        and (s is candidates[-1] or not met(s))
    ]
    next_due = open_[0].due if open_ else None
    items = []
    if flags and not flags[0]:
        items.append(_item(rule, "overdue", spans[0].due))
    soon = next_due is not None and (next_due - d).days <= rule.remind_days
    if soon and next_due is not None and open_[0] is not candidates[-1]:
        items.append(_item(rule, "due", next_due))
    zh_count, zh_each, en_unit = UNITS[rule.period]
    zh = f"近{n}{zh_count}中{k}{zh_count}按期召开（每{zh_each}至少{need}次）"
    en = f"held in {k} of the last {n} {en_unit}s (at least {need} a {en_unit})"
    return _result(
        rule, _state(k, n), k / n if n else None, n, k, zh, en,
        last_fulfilled=org.last_held(kind, d), next_due=next_due, missing_since=missing,
        items=tuple(items),
    )  # fmt: skip


def term(rule: Rule, org: OrgRecord, d: date) -> RuleResult:
    """The election rule (换届): met while the last term (plus grace) runs."""
    terms = [t for t in org.terms if t[0] <= d]
    items: tuple[Item, ...] = ()
    if not terms:
        items = (_item(rule, "overdue", org.founded),) if org.founded is not None else ()
        return _result(
            rule, "missed", 0.0, 1, 0, "未记录换届选举", "no election recorded",
            missing_since=org.founded, items=items,
        )  # fmt: skip
    elected, years = terms[-1]
    deadline = add_years(elected, years) + timedelta(days=rule.grace_days)
    if d <= deadline:
        if (deadline - d).days <= rule.remind_days:
            items = (_item(rule, "due", deadline),)
        zh, en = (
            f"{elected.isoformat()}选举，任期{years}年",
            f"elected {elected}, {years}-year term",
        )
        return _result(
            rule, "met", 1.0, 1, 1, zh, en, last_fulfilled=elected, next_due=deadline, items=items
        )
    zh, en = f"任期已于{deadline.isoformat()}届满，未换届", f"term ended {deadline}: no election"
    return _result(
        rule, "missed", 0.0, 1, 0, zh, en, last_fulfilled=elected, next_due=deadline,
        missing_since=deadline + DAY, items=(_item(rule, "overdue", deadline),),
    )  # fmt: skip


def dues(rule: Rule, org: OrgRecord, d: date) -> RuleResult:
    """Dues arrears: flagged when arrears last `arrears_months` consecutive recorded months."""
    limit = int(rule.evidence.arrears_months or 6)
    months = sorted(m for m in org.dues if m <= d)
    if not months:
        return _result(rule, "not_due", None, 0, 0, "无党费记录", "no dues recorded")
    streak, start = 0, months[-1]
    for m in reversed(months):
        if org.dues[m] <= 0 or (streak and add_months(m, 1) != start):
            break
        streak, start = streak + 1, m
    paid = [m for m in months if org.dues[m] == 0]
    flagged_on = add_months(start, limit) - DAY
    zh = f"连续{streak}个月有欠缴（{limit}个月预警）"
    en = f"arrears for {streak} consecutive months (flagged at {limit})"
    last = paid[-1] if paid else None
    if streak >= limit:
        return _result(
            rule, "missed", 0.0, 1, 0, zh, en, last_fulfilled=last, missing_since=start,
            items=(_item(rule, "overdue", flagged_on),),
        )  # fmt: skip
    items: tuple[Item, ...] = ()
    if streak == limit - 1 and (flagged_on - d).days <= rule.remind_days:
        items = (_item(rule, "due", flagged_on),)
    return _result(rule, "met", 1.0, 1, 1, zh, en, last_fulfilled=last, items=items)


def size(rule: Rule, org: OrgRecord, d: date) -> RuleResult:
    """The branch's size rules: at most `max_members`, a committee from `min_full_members`
    full members, a joint branch below `min_full_members`."""
    ev = rule.evidence
    if ev.kind == "branch_size":
        limit = int(ev.max_members or 50)
        if org.members > limit:
            zh, en = f"党员超过{limit}人，宜设立党总支", f"over {limit} members: a general branch"
            return _result(rule, "missed", 0.0, 1, 0, zh, en)
        return _result(rule, "met", 1.0, 1, 1, f"党员不超过{limit}人", f"at most {limit} members")
    least = int(ev.min_full_members or 1)
    if ev.kind == "joint_branch":
        if org.full_members < least:
            zh, en = f"正式党员不足{least}人，宜成立联合支部", f"fewer than {least} full members"
            return _result(rule, "missed", 0.0, 1, 0, zh, en)
        return _result(rule, "met", 1.0, 1, 1, f"正式党员{least}人以上", f"{least}+ full members")
    if org.full_members < least:
        return _not_applicable(rule, f"正式党员不足{least}人", f"fewer than {least} full members")
    elected = [t[0] for t in org.terms if t[0] <= d]
    if not elected:
        zh, en = f"正式党员{least}人以上，未设支委会", f"{least}+ full members, no committee"
        return _result(rule, "missed", 0.0, 1, 0, zh, en)
    zh, en = "已设立支部委员会", "committee elected"
    return _result(rule, "met", 1.0, 1, 1, zh, en, last_fulfilled=elected[-1])


JUDGES = {"meeting": meeting, "term": term, "dues_arrears": dues}


def evaluate(rule: Rule, org: OrgRecord, d: date) -> RuleResult:
    """One rule of one organisation as of day `d`."""
    return JUDGES.get(rule.evidence.kind, size)(rule, org, d)


def _mean(children: list[OrgScore]) -> float:
    """The children's mean score weighted by their size classes (never by their counts: two
    children's scores and the mean would give the ratio of their members)."""
    weights = [size_weight(c.members) for c in children]  # every weight is at least K/2
    return sum(c.score * w for c, w in zip(children, weights, strict=True)) / sum(weights)


def _with_points(r: RuleResult, points: float, lost: float) -> RuleResult:
    """The result with its points (dataclasses.replace, without its per-call introspection:
    it was the build's largest cost at 50,000 organisations)."""
    new = object.__new__(RuleResult)
    new.__dict__.update(r.__dict__, points=points, lost=lost)
    return new


def combine(rules: RuleSet, org: OrgRecord, own: list[RuleResult], children: list[OrgScore]) -> OrgScore:  # fmt: skip
    """An organisation's score from its own rules' results and its children's scores."""
    judged = [r for r in own if r.share is not None]
    w_own = sum(r.weight for r in judged)
    gained = sum(r.weight * (r.share or 0.0) for r in judged)
    rollup = rules.rollup_weight if children else 0.0
    child_mean = _mean(children) if children else None
    total = w_own + rollup
    members = org.members + sum(c.members for c in children)
    scored = [
        _with_points(r, 100 * r.weight * r.share / total, 100 * r.weight * (1 - r.share) / total)
        if r.share is not None and total
        else r
        for r in own
    ]  # fmt: skip
    if total == 0:
        score, c_points, c_lost = 100.0, 0.0, 0.0
    else:
        c_points = rollup * (child_mean or 0.0) / total
        c_lost = rollup * 100 / total - c_points
        score = 100 * gained / total + c_points
    return OrgScore(
        org.id, score, rules.status(score), 100 * gained / w_own if w_own else None,
        child_mean, members, tuple(scored), c_points, c_lost,
    )  # fmt: skip


def _post_order(orgs: Mapping[int, OrgRecord]) -> tuple[list[int], dict[int, list[int]]]:
    """Organisations children first, and each one's children (a parent outside the set, or a
    cycle, makes a root)."""
    children: dict[int, list[int]] = {i: [] for i in orgs}
    roots = []
    for org in orgs.values():
        if org.parent_id in orgs and org.parent_id != org.id:
            children[int(org.parent_id)].append(org.id)  # type: ignore[arg-type]
        else:
            roots.append(org.id)
    order: list[int] = []
    stack = [(r, False) for r in sorted(roots, reverse=True)]
    seen: set[int] = set()
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((c, False) for c in sorted(children[node], reverse=True))
    return order, children


def score_all(orgs: Mapping[int, OrgRecord], rules: RuleSet, d: date) -> dict[int, OrgScore]:
    """Every organisation's score as of day `d`, children before parents."""
    order, children = _post_order(orgs)
    out: dict[int, OrgScore] = {}
    for org_id in order:
        org = orgs[org_id]
        own = [evaluate(rule, org, d) for rule in rules.applying(org.type)]
        out[org_id] = combine(rules, org, own, [out[c] for c in children[org_id] if c in out])
    return out


def month_ends(d: date, months: int = 12) -> list[date]:
    """The last days of the `months` months up to the one of `d` (that one: `d` itself)."""
    first = d.replace(day=1)
    ends = [add_months(first, -i + 1) - DAY for i in range(1, months)]
    return sorted([*ends, d])


def items_of(scores: Iterable[OrgScore]) -> dict[int, tuple[Item, ...]]:
    """Reminder items per organisation."""
    return {s.org_id: s.items for s in scores if s.items}
