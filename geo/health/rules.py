"""Health rules as data: the versioned defaults (rules.yaml beside this module) and an admin's
versions of them (table `health_rule_sets`, the highest id in force), checked with pydantic.

A rule names its evidence (a meeting kind, the committee's term, dues arrears, the branch's
size), a period (month, quarter, half-year, year, term), a grace period in days, a weight, the
organisation types it applies to and how many days before its due date a reminder goes out.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geo.errors import InvalidInput
from geo.vocab import MEETING_KINDS

DEFAULTS = Path(__file__).with_name("rules.yaml")
Period = Literal["month", "quarter", "half-year", "year", "term"]
EvidenceKind = Literal[
    "meeting", "term", "dues_arrears", "branch_size", "committee", "joint_branch"
]
RULE_ID = r"^[a-z][a-z0-9_]{0,39}$"
LATEST_SQL = "SELECT id, rules FROM health_rule_sets ORDER BY id DESC LIMIT 1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Evidence(_Strict):
    """What counts as evidence of a rule, and the parameters of its kind."""

    kind: EvidenceKind
    meeting_kind: str | None = Field(None, description="meeting: the kind that counts")
    min_count: int = Field(1, ge=1, le=31, strict=True, description="meeting: how many per period")
    min_full_members: int | None = Field(
        None,
        ge=1,
        strict=True,
        le=1000,
        description="the rule applies from this many full members up "
        "(meeting, committee); joint_branch: fewer than this many is flagged",
    )
    max_members: int | None = Field(
        None, ge=1, le=10_000, strict=True, description="branch_size: at most"
    )
    arrears_months: int | None = Field(
        None, ge=1, le=24, strict=True, description="dues_arrears: flagged at"
    )

    @model_validator(mode="after")
    def _parameters(self) -> Evidence:
        need = {
            "meeting": ("meeting_kind",),
            "dues_arrears": ("arrears_months",),
            "branch_size": ("max_members",),
            "committee": ("min_full_members",),
            "joint_branch": ("min_full_members",),
        }.get(self.kind, ())
        missing = [name for name in need if getattr(self, name) is None]
        if missing:
            raise ValueError(f"evidence {self.kind} needs {', '.join(missing)}")
        if self.kind == "meeting" and self.meeting_kind not in MEETING_KINDS:
            raise ValueError(f"meeting_kind must be one of {', '.join(MEETING_KINDS)}")
        return self


class Rule(_Strict):
    """One rule (see the module docstring)."""

    id: str = Field(pattern=RULE_ID)
    name_zh: str = Field(min_length=1, max_length=60)
    name_en: str = Field(min_length=1, max_length=80)
    evidence: Evidence
    period: Period
    grace_days: int = Field(0, ge=0, le=366, strict=True)
    weight: float = Field(ge=0.01, le=100, strict=True)
    org_types: tuple[str, ...] = Field(min_length=1)
    remind_days: int = Field(
        7, ge=0, le=366, strict=True, description="reminders this many days before"
    )
    source: str = Field("", max_length=300, description="where the rule comes from")

    @model_validator(mode="after")
    def _term(self) -> Rule:
        if self.evidence.kind == "term" and self.period != "term":
            raise ValueError("a term rule has period term")
        if self.evidence.kind == "meeting" and self.period == "term":
            raise ValueError("a meeting rule has a calendar period (month … year)")
        return self


class Thresholds(_Strict):
    """Scores at or above `green` are green, at or above `amber` amber, else red."""

    green: float = Field(85, ge=0, le=100, strict=True)
    amber: float = Field(60, ge=0, le=100, strict=True)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.amber > self.green:
            raise ValueError("amber must not be above green")
        return self


class RuleSet(_Strict):
    """A version of the rules: thresholds, the weight of children in a parent's score, rules."""

    version: str = Field(min_length=1, max_length=40)
    thresholds: Thresholds = Field(default_factory=lambda: Thresholds(green=85, amber=60))
    rollup_weight: float = Field(100, ge=0, le=1000, strict=True)
    rules: tuple[Rule, ...] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError("rule ids must be unique")
        return self

    def status(self, score: float) -> str:
        """green, amber or red."""
        if score >= self.thresholds.green:
            return "green"
        return "amber" if score >= self.thresholds.amber else "red"

    def applying(self, org_type: str) -> tuple[Rule, ...]:
        """The rules of an organisation type."""
        return tuple(r for r in self.rules if org_type in r.org_types)


def parse(doc: Any) -> RuleSet:
    """A rule set from its JSON/YAML document (InvalidInput naming each problem)."""
    try:
        return RuleSet.model_validate(doc)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'rules'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"bad health rules: {problems}") from exc


@lru_cache(maxsize=1)
def defaults() -> RuleSet:
    """The rules of rules.yaml (read once)."""
    return parse(yaml.safe_load(DEFAULTS.read_text(encoding="utf-8")))


def version_label(rules: RuleSet, set_id: int | None) -> str:
    """The version the scores name: the file's, or the admin's row (`<file version>+<id>`)."""
    return rules.version if set_id is None else f"{rules.version}+{set_id}"


async def current(conn: Any) -> tuple[RuleSet, int | None]:
    """The rules in force (an admin's latest version, else the defaults) and its row id."""
    row = await conn.fetchrow(LATEST_SQL)
    if row is None:
        return defaults(), None
    doc = row["rules"]
    return parse(json.loads(doc) if isinstance(doc, str) else doc), int(row["id"])
