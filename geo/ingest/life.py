"""Rules of the organisation-life kinds (issue 13: meetings, terms, dues), which have no place:
a row's key is derived from its organisation, kind and date when the file gives none (so a
rerun of the same file changes nothing), dues months are their first day, and a term without
a length is 3 years (the 选举工作条例's default; 5 for village and community organisations is
given in the file)."""

from __future__ import annotations

import pandas as pd

from geo.ingest.fields import check_duplicates
from geo.ingest.problems import Problems
from geo.ingest.spec import Spec

DEFAULT_TERM_YEARS = 3


def _day(col: pd.Series) -> pd.Series:
    return col.dt.strftime("%Y-%m-%d")


def derive_keys(
    spec: Spec, out: dict[str, pd.Series], mapping: dict[str, str], p: Problems
) -> None:
    """Fill the key (and the kind's defaults) of an organisation-life file, then look for rows
    that say the same thing twice (duplicate_id)."""
    org = out["org_code"].astype("string")
    if spec.kind == "meetings":
        derived = org + ":" + out["kind"].astype("string") + ":" + _day(out["held_on"])
    elif spec.kind == "terms":
        derived = org + ":" + _day(out["elected_on"])
        out["term_years"] = out["term_years"].fillna(DEFAULT_TERM_YEARS)
    else:
        out["month"] = out["month"].dt.to_period("M").dt.to_timestamp()
        share = out["paid_share"]
        outside = (share.notna() & ((share < 0) | (share > 1))).to_numpy(dtype=bool)
        message = "paid_share is outside 0..1 (the share of members who paid)"
        p.error(outside, "out_of_range_value", message, mapping.get("paid_share"))
        derived = org + ":" + out["month"].dt.strftime("%Y-%m")
    given = out.get("code")
    key = derived if given is None else given.astype("string").fillna(derived)
    out["code"] = key.astype(object).where(key.notna(), None)
    check_duplicates(spec, out["code"], mapping.get("code"), p)
