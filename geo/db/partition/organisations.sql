-- organisations.province_id: the id of the top-level ancestor (a top-level organisation's own),
-- backfilled from the roots in one recursive query and kept right by triggers: an insert or a
-- reparent takes the parent's province, and a change of province runs down the subtree and moves
-- the members of its branches (their check-ins and registrations follow by ON UPDATE CASCADE)
-- and its events.
ALTER TABLE organisations ADD COLUMN province_id bigint;
WITH RECURSIVE t(id, root) AS (
    SELECT id, id FROM organisations WHERE parent_id IS NULL
    UNION ALL
    SELECT o.id, t.root FROM organisations o JOIN t ON o.parent_id = t.id
)
UPDATE organisations o SET province_id = t.root FROM t WHERE t.id = o.id;
ALTER TABLE organisations ALTER COLUMN province_id SET NOT NULL;
CREATE INDEX organisations_province_idx ON organisations (province_id);

CREATE FUNCTION org_province_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NULL THEN
        NEW.province_id := NEW.id;
    ELSE
        NEW.province_id := (SELECT p.province_id FROM organisations p WHERE p.id = NEW.parent_id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER organisations_province BEFORE INSERT OR UPDATE OF parent_id ON organisations
    FOR EACH ROW EXECUTE FUNCTION org_province_set();

CREATE FUNCTION org_province_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE organisations SET province_id = NEW.province_id
    WHERE parent_id = NEW.id AND province_id <> NEW.province_id;
    UPDATE members SET province_id = NEW.province_id
    WHERE branch_id = NEW.id AND province_id <> NEW.province_id;
    UPDATE events SET province_id = NEW.province_id
    WHERE org_id = NEW.id AND province_id <> NEW.province_id;
    RETURN NULL;
END $$;
CREATE TRIGGER organisations_province_follow AFTER UPDATE OF province_id ON organisations
    FOR EACH ROW WHEN (OLD.province_id IS DISTINCT FROM NEW.province_id)
    EXECUTE FUNCTION org_province_follow();
