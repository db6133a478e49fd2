"""The sample's synthetic registrations and check-ins: within capacity, from invited members,
only for activities that have started, a mix of methods, labelled in the imports audit, and
the same again for the same seed."""

from __future__ import annotations

from pathlib import Path

import psycopg

from geo.health import clock
from geo.samples import SampleSpec, generate
from geo.samples.live import AUDIT_KIND, add_live_sample
from geo.samples.load import load_samples

SMALL = {"members": 400, "buildings": 200, "organisations": 8, "service_points": 5}

CHECKS = {
    "over capacity": "SELECT count(*) FROM activities a WHERE (SELECT count(*) FROM registrations r"
    " WHERE r.activity_id = a.id AND r.status = 'registered') > coalesce(a.capacity, 30)",
    "waitlist with free places": "SELECT count(*) FROM activities a WHERE EXISTS (SELECT 1 FROM"
    " registrations r WHERE r.activity_id = a.id AND r.status = 'waitlisted') AND (SELECT count(*)"
    " FROM registrations r WHERE r.activity_id = a.id AND r.status = 'registered') < a.capacity",
    "not invited": "SELECT count(*) FROM registrations r JOIN activities a ON a.id = r.activity_id"
    " JOIN members m ON m.id = r.member_id"
    " WHERE m.branch_id NOT IN (SELECT s.id FROM org_subtree(a.organiser_id) s)",
    "check-in before opening": "SELECT count(*) FROM checkins c JOIN activities a ON"
    " a.id = c.activity_id WHERE c.checked_at < a.starts_at - interval '30 minutes'"
    " OR c.checked_at > a.ends_at",
    "check-in unregistered": "SELECT count(*) FROM checkins c WHERE NOT EXISTS (SELECT 1 FROM"
    " registrations r WHERE r.activity_id = c.activity_id AND r.member_id = c.member_id"
    " AND r.status = 'registered')",
}


def _rows(url: str) -> tuple[list[tuple], list[tuple]]:
    with psycopg.connect(url) as conn:
        regs = conn.execute(
            "SELECT activity_id, member_id, status FROM registrations ORDER BY 1, 2"
        ).fetchall()
        ins = conn.execute(
            "SELECT activity_id, member_id, method FROM checkins ORDER BY 1, 2"
        ).fetchall()
    return regs, ins


def test_live_sample(clean_db: str, tmp_path: Path) -> None:
    out = tmp_path / "s"
    today = clock.today().isoformat()  # the default: Beijing's date
    generate(SampleSpec(seed=5, today=today, panoramas=0, activities=40, **SMALL), out)
    load_samples(clean_db, out, tmp_path / "pano", progress=False)
    regs, ins = _rows(clean_db)
    assert len(regs) > 100 and len(ins) > 20
    assert {s for *_, s in regs} == {"registered", "waitlisted", "cancelled"}
    assert {m for *_, m in ins} == {"geofence", "code", "scan"}
    with psycopg.connect(clean_db) as conn:
        for name, sql in CHECKS.items():
            assert conn.execute(sql).fetchone()[0] == 0, name
        future = conn.execute(
            "SELECT count(*) FROM checkins c JOIN activities a ON a.id = c.activity_id"
            " WHERE a.starts_at - interval '30 minutes' > now()"
        ).fetchone()[0]
        audit = conn.execute(
            "SELECT source_name, rows_written FROM imports WHERE kind = %s", (AUDIT_KIND,)
        ).fetchall()
    assert future == 0
    assert len(audit) == 1 and "（示例）" in audit[0][0] and audit[0][1] == len(regs) + len(ins)
    assert add_live_sample(clean_db, 5) == (0, 0)  # a rerun adds nothing
    with psycopg.connect(clean_db) as conn:
        conn.execute("TRUNCATE registrations, checkins")
    add_live_sample(clean_db, 5)
    again = _rows(clean_db)
    assert again[0] == regs  # the same seed makes the same registrations
