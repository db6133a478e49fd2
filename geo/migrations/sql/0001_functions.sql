-- What the models of revision 0001 cannot express: the subtree query and the data-version bump.

-- The subtree of an organisation (itself included) in one query.
CREATE FUNCTION org_subtree(root bigint) RETURNS TABLE (id bigint, depth integer)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE t(id, depth) AS (
        SELECT o.id, 0 FROM organisations o WHERE o.id = root
        UNION ALL
        SELECT c.id, t.depth + 1 FROM organisations c JOIN t ON c.parent_id = t.id
    ) CYCLE id SET is_cycle USING path
    SELECT id, depth FROM t WHERE NOT is_cycle
$$;

-- Per-table data versions: any write bumps the table's version, so caches keyed by it go stale at
-- once (a trigger per versioned table: 0001_version_trigger.sql).
CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO data_versions AS d (table_name, version, updated_at)
    VALUES (TG_TABLE_NAME, 2, now())
    ON CONFLICT (table_name) DO UPDATE SET version = d.version + 1, updated_at = now();
    RETURN NULL;
END $$;
