-- One organisation's stored score and breakdown.
SELECT score, status, own_score, children_score, as_of, rules_version, breakdown, built_at
FROM org_health_scores WHERE org_id = $1
