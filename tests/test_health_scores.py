"""Organisation health scores (issue 13 §2): synthetic histories with known answers, and random
histories scored again by an independent calculation written here (day by day, no shared code
with geo/health but the rules file); every default rule is exercised."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from geo.errors import InvalidInput
from geo.health import rules as health_rules
from geo.health.evidence import OrgRecord
from geo.health.rules import Rule, RuleSet, defaults
from geo.health.score import evaluate, score_all
from geo.privacy import size_class
from geo.vocab import MEETING_KINDS

D = date(2026, 5, 20)
LONG_AGO = date(2000, 1, 1)
SIZE = {"month": 1, "quarter": 3, "half-year": 6, "year": 12}
COUNT = {"month": 12, "quarter": 4, "half-year": 2, "year": 1}


def rule(rule_id: str) -> Rule:
    return next(r for r in defaults().rules if r.id == rule_id)


def branch(**kw: object) -> OrgRecord:
    base: dict[str, object] = {"id": 2, "parent_id": 1, "type": "党支部", "founded": LONG_AGO}
    base |= {"members": 20, "full_members": 12}
    return OrgRecord(**(base | kw))  # type: ignore[arg-type]


def monthly(kind: str, months: list[tuple[int, int]], day: int = 10) -> dict[str, list[date]]:
    return {kind: sorted(date(y, m, day) for y, m in months)}


# -- the independent calculation ---------------------------------------------------------------


def period_index(period: str, d: date) -> int:
    return (d.year * 12 + d.month - 1) // SIZE[period]


def period_span(period: str, index: int) -> tuple[date, date]:
    first = index * SIZE[period]
    after = first + SIZE[period]
    return date(first // 12, first % 12 + 1, 1), date(after // 12, after % 12 + 1, 1)


def brute_meeting_share(r: Rule, org: OrgRecord, d: date) -> float | None:
    ev = r.evidence
    if ev.min_full_members and org.full_members < ev.min_full_members:
        return None
    held = org.meetings.get(str(ev.meeting_kind), [])
    judged: list[bool] = []
    index = period_index(r.period, d) - 1
    while len(judged) < COUNT[r.period]:
        start, end = period_span(r.period, index)
        if org.founded and start < org.founded:
            break
        last_day_with_grace = end - timedelta(days=1) + timedelta(days=r.grace_days)
        if last_day_with_grace < d:
            window_end = end + timedelta(days=r.grace_days)
            n = sum(1 for h in held if start <= h < window_end and h <= d)
            judged.append(n >= ev.min_count)
        index -= 1
    return sum(judged) / len(judged) if judged else None


def brute_share(r: Rule, org: OrgRecord, d: date) -> float | None:
    kind = r.evidence.kind
    if kind == "meeting":
        return brute_meeting_share(r, org, d)
    if kind == "term":
        past = [t for t in org.terms if t[0] <= d]
        if not past:
            return 0.0
        elected, years = max(past)
        end = elected.replace(year=elected.year + years)
        return 1.0 if d <= end + timedelta(days=r.grace_days) else 0.0
    if kind == "dues_arrears":
        months = sorted(m for m in org.dues if m <= d)
        if not months:
            return None
        run = 0
        expect = months[-1]
        for m in reversed(months):
            if m != expect or org.dues[m] == 0:
                break
            run += 1
            expect = (m - timedelta(days=1)).replace(day=1)
        return 0.0 if run >= int(r.evidence.arrears_months or 0) else 1.0
    if kind == "branch_size":
        return 1.0 if org.members <= int(r.evidence.max_members or 0) else 0.0
    least = int(r.evidence.min_full_members or 0)
    if kind == "joint_branch":
        return 0.0 if org.full_members < least else 1.0
    if org.full_members < least:  # committee
        return None
    return 1.0 if any(t[0] <= d for t in org.terms) else 0.0


def brute_scores(orgs: dict[int, OrgRecord], rs: RuleSet, d: date) -> dict[int, float]:
    memo: dict[int, tuple[float, int]] = {}

    def total(org_id: int) -> tuple[float, int]:
        if org_id in memo:
            return memo[org_id]
        org = orgs[org_id]
        kids = [total(o.id) for o in orgs.values() if o.parent_id == org_id]
        members = org.members + sum(m for _, m in kids)
        weights, gained = 0.0, 0.0
        for r in rs.rules:
            if org.type in r.org_types:
                share = brute_share(r, org, d)
                if share is not None:
                    weights += r.weight
                    gained += r.weight * share
        if kids:
            weight = {0: 5, 1: 30, 2: 125, 3: 200}  # by size class (None: 0), never by count
            ws = [weight[size_class(m) or 0] for _, m in kids]
            mean = sum(s * w for (s, _), w in zip(kids, ws, strict=True)) / sum(ws)
            weights += rs.rollup_weight
            gained += rs.rollup_weight * mean / 100
        memo[org_id] = (100.0 if weights == 0 else 100 * gained / weights, members)
        return memo[org_id]

    return {org_id: total(org_id)[0] for org_id in orgs}


# -- known answers ---------------------------------------------------------------------------


def test_a_branch_with_no_records_scores_what_its_size_rules_give() -> None:
    """Founded long ago, 20 members of whom 5 full, no meetings, terms or dues: only branch size
    and the joint-branch rule (3+ full members) are met; the committee rules do not apply and
    dues are not judged: (5 + 5) / (15 + 10·5 + 15 + 5 + 5) = 10/90."""
    org = branch(full_members=5)
    s = score_all({2: org}, defaults(), D)[2]
    assert s.score == pytest.approx(100 * 10 / 90)
    assert s.status == "red"
    states = {r.rule: r.state for r in s.rules}
    assert states["committee_meeting"] == states["committee_elected"] == "not_applicable"
    assert states["dues_arrears"] == "not_due"
    assert sum(r.points for r in s.rules) == pytest.approx(s.score)


def test_a_branch_that_keeps_every_rule_scores_100_green() -> None:
    months = [(y, m) for y in (2025, 2026) for m in range(1, 13)]
    meetings: dict[str, list[date]] = {}
    for kind in MEETING_KINDS:
        meetings |= monthly(kind, months)
    org = branch(meetings=meetings, terms=[(date(2024, 1, 1), 3)], dues={date(2026, 4, 1): 0})
    s = score_all({2: org}, defaults(), D)[2]
    assert s.score == pytest.approx(100.0)
    assert s.status == "green"
    assert all(r.state == "met" and r.lost == 0 for r in s.rules)


def test_a_quarterly_meeting_missed_twice_out_of_four() -> None:
    """支部党员大会 (quarterly, 15 days' grace) on 20 May 2026: Q2 2025 … Q1 2026 are judged
    (Q1's due day, 15 April, has passed); held in Q3 2025 and Q1 2026: 2 of 4."""
    org = branch(meetings={"支部党员大会": [date(2025, 8, 1), date(2026, 2, 1)]})
    r = evaluate(rule("general_meeting"), org, D)
    assert (r.state, r.periods, r.met_periods, r.share) == ("partial", 4, 2, 0.5)
    assert r.missing_since is None
    assert r.last_fulfilled == date(2026, 2, 1)
    assert r.next_due == date(2026, 7, 15)  # Q2 2026's last day plus 15 days


def test_a_meeting_within_the_grace_counts_for_the_period_before() -> None:
    org = branch(meetings={"党小组会": [date(2026, 5, 5)]})  # April's, 5 days late (grace 7)
    r = evaluate(rule("group_meeting"), org, D)
    assert r.met_periods == 1  # April
    assert r.missing_since is None


def test_missing_since_and_overdue_and_due_items() -> None:
    """党小组会 monthly: held up to January 2026, then nothing: missing since February, April's
    meeting is overdue (due 7 May) and May's falls due on 7 June (more than 7 days away: no
    due item); on 1 June it is due within 7 days."""
    org = branch(meetings=monthly("党小组会", [(2025, m) for m in range(1, 13)] + [(2026, 1)]))
    r = evaluate(rule("group_meeting"), org, D)
    assert r.missing_since == date(2026, 2, 1)
    assert [(i.kind, i.due_on) for i in r.items] == [("overdue", date(2026, 5, 7))]
    r = evaluate(rule("group_meeting"), org, date(2026, 6, 1))
    assert ("due", date(2026, 6, 7)) in [(i.kind, i.due_on) for i in r.items]


def test_a_branch_founded_recently_is_judged_on_its_own_periods_only() -> None:
    org = branch(founded=date(2026, 3, 1), meetings=monthly("主题党日", [(2026, 3)]))
    r = evaluate(rule("theme_day"), org, D)
    assert (r.periods, r.met_periods) == (2, 1)  # March (held), April (not); May not due yet
    assert evaluate(rule("life_meeting"), org, D).state == "not_due"


def test_committee_meetings_only_where_there_are_7_full_members() -> None:
    assert evaluate(rule("committee_meeting"), branch(full_members=6), D).state == "not_applicable"
    assert evaluate(rule("committee_meeting"), branch(full_members=7), D).state == "missed"
    assert evaluate(rule("committee_elected"), branch(full_members=7), D).state == "missed"
    elected = branch(full_members=7, terms=[(date(2025, 1, 1), 3)])
    assert evaluate(rule("committee_elected"), elected, D).state == "met"


def test_the_term_is_due_six_months_ahead_and_overdue_after() -> None:
    org = branch(terms=[(date(2023, 6, 1), 3)])
    r = evaluate(rule("term_election"), org, D)
    assert (r.state, r.next_due) == ("met", date(2026, 6, 1))
    assert [(i.kind, i.due_on) for i in r.items] == [("due", date(2026, 6, 1))]
    early = evaluate(rule("term_election"), org, date(2025, 11, 1))  # 212 days ahead: no item
    assert early.items == ()
    late = evaluate(rule("term_election"), org, date(2026, 6, 2))
    assert (late.state, late.missing_since) == ("missed", date(2026, 6, 2))
    assert [i.kind for i in late.items] == ["overdue"]
    village = branch(terms=[(date(2023, 6, 1), 5)])  # a 5-year term (村、社区)
    assert evaluate(rule("term_election"), village, date(2027, 1, 1)).state == "met"


def test_dues_arrears_are_flagged_at_six_consecutive_months() -> None:
    months = [date(2025, m, 1) for m in range(11, 13)] + [date(2026, m, 1) for m in range(1, 6)]
    five = {m: (2 if m >= date(2025, 12, 1) else 0) for m in months}  # Dec … Apr: 5 months
    five[date(2026, 5, 1)] = 0
    r = evaluate(rule("dues_arrears"), branch(dues=five), D)
    assert r.state == "met"
    six = {m: (1 if m >= date(2025, 12, 1) else 0) for m in months}  # Dec … May: 6 months
    r = evaluate(rule("dues_arrears"), branch(dues=six), D)
    assert (r.state, r.missing_since) == ("missed", date(2025, 12, 1))
    gap = dict(six)
    del gap[date(2026, 2, 1)]  # not consecutive: Mar … May only
    assert evaluate(rule("dues_arrears"), branch(dues=gap), D).state == "met"


def test_branch_size_and_joint_branch() -> None:
    assert evaluate(rule("branch_size"), branch(members=51), D).state == "missed"
    assert evaluate(rule("branch_size"), branch(members=50), D).state == "met"
    assert evaluate(rule("joint_branch"), branch(full_members=2), D).state == "missed"
    assert evaluate(rule("joint_branch"), branch(full_members=3), D).state == "met"


def test_parents_roll_up_their_childrens_size_weighted_mean() -> None:
    top = OrgRecord(1, None, "党委", LONG_AGO, 0, 0, terms=[(date(2024, 1, 1), 5)])
    a = branch(id=2, members=30, full_members=5)  # 10/90
    b = branch(id=3, members=10, full_members=5, terms=[(date(2025, 1, 1), 3)])  # 25/90
    scores = score_all({1: top, 2: a, 3: b}, defaults(), D)
    mean = (100 * 10 / 90 + 100 * 25 / 90) / 2  # 30 and 10 members: one size class, one weight
    assert scores[1].children_score == pytest.approx(mean)
    assert scores[1].score == pytest.approx((100 * mean + 15 * 100) / 115)
    assert scores[1].members == 40
    parts = sum(r.points for r in scores[1].rules) + scores[1].children_points
    assert parts == pytest.approx(scores[1].score)


# -- random histories against the independent calculation ------------------------------------


def random_org(rng: random.Random, org_id: int, parent: int | None, kind: str) -> OrgRecord:
    meetings = {
        k: sorted(
            {
                date(2024, 6, 1) + timedelta(days=rng.randrange(720))
                for _ in range(rng.randrange(14))
            }
        )
        for k in MEETING_KINDS
        if rng.random() < 0.8
    }
    terms = [(date(2018 + rng.randrange(8), rng.randrange(1, 13), 1), rng.choice((3, 5)))]
    start = date(2025, rng.randrange(1, 13), 1)
    dues = {}
    for i in range(rng.randrange(15)):
        month = (start + timedelta(days=31 * i)).replace(day=1)
        dues[month] = 0 if rng.random() < 0.3 else rng.randrange(1, 4)
    founded = rng.choice((None, LONG_AGO, date(2025, rng.randrange(1, 13), 1)))
    return OrgRecord(
        org_id, parent, kind, founded, rng.randrange(0, 70), rng.randrange(0, 12),
        meetings, terms if rng.random() < 0.8 else [], dues,
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_random_histories_equal_the_independent_calculation(seed: int) -> None:
    rng = random.Random(seed)
    orgs = {1: random_org(rng, 1, None, "党委")}
    for i in range(2, 6):
        orgs[i] = random_org(rng, i, 1, "党总支")
    for i in range(6, 40):
        orgs[i] = random_org(rng, i, rng.randrange(1, 6), "党支部")
    for d in (D, date(2026, 1, 3), date(2025, 12, 31), date(2026, 7, 1)):
        got = score_all(orgs, defaults(), d)
        want = brute_scores(orgs, defaults(), d)
        for org_id, expected in want.items():
            assert got[org_id].score == pytest.approx(expected), (seed, d, org_id)
            parts = sum(r.points for r in got[org_id].rules) + got[org_id].children_points
            assert parts == pytest.approx(got[org_id].score)


def test_every_default_rule_is_exercised_by_the_random_histories() -> None:
    seen: dict[str, set[str]] = {r.id: set() for r in defaults().rules}
    rng = random.Random(99)
    orgs = {i: random_org(rng, i, None, "党支部") for i in range(1, 200)}
    for s in score_all(orgs, defaults(), D).values():
        for r in s.rules:
            seen[r.rule].add(r.state)
    for rule_id, states in seen.items():
        assert "met" in states or "partial" in states, rule_id
        assert states & {"missed", "partial"}, rule_id


def test_rules_are_checked_data() -> None:
    doc = defaults().model_dump(mode="json")
    doc["rules"][0]["period"] = "fortnight"
    with pytest.raises(InvalidInput, match="period"):
        health_rules.parse(doc)
    doc = defaults().model_dump(mode="json")
    doc["rules"][1]["id"] = doc["rules"][0]["id"]
    with pytest.raises(InvalidInput, match="unique"):
        health_rules.parse(doc)
    doc = defaults().model_dump(mode="json")
    doc["rules"][0]["evidence"] = {"kind": "meeting", "meeting_kind": "茶话会"}
    with pytest.raises(InvalidInput, match="meeting_kind"):
        health_rules.parse(doc)
    doc = defaults().model_dump(mode="json")
    doc["thresholds"] = {"green": 50, "amber": 70}
    with pytest.raises(InvalidInput, match="amber"):
        health_rules.parse(doc)
    assert health_rules.parse(defaults().model_dump(mode="json")) == defaults()
