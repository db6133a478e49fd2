SELECT o.id, o.code, o.name, o.type, o.parent_id, o.geom, h.score, h.status, h.size_class, h.as_of FROM org_health_scores h JOIN organisations o ON o.id = h.org_id
