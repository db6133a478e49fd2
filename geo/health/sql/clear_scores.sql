-- The previous build's scores go with the new build's transaction.
DELETE FROM org_health_scores
