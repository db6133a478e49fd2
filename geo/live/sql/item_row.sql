-- One written item: its ETag (the hash of the whole stored row), its record for the audit
-- (every column, the geometry as GeoJSON), and whether the caller may see it and write it.
-- {lock} is empty or FOR UPDATE OF t (a write holds the row until it commits); {more} is empty or
-- `|| jsonb_build_object(…)` of the layer's list fields (an activity's invited_org_ids).
SELECT md5(t::text) AS etag,
       ((to_jsonb(t) - 'geom') || jsonb_build_object('geometry', ST_AsGeoJSON(t.geom, 7)::jsonb){more})::text
           AS record,
       ({visible}) AS visible,
       ({writable}) AS writable
FROM {table} AS t
WHERE t.id = {id}{lock}
