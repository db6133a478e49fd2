-- What the foreign keys from users.member_id and grids.leader_member_id did (a foreign key must
-- name a unique key of the partitioned members, and members(id) alone cannot be one): a row
-- naming a member that does not exist is refused (SQLSTATE 23503, the foreign key's name), and
-- deleting a member deletes its user (ON DELETE CASCADE) and clears the grids it led (SET NULL).
-- A member moved to another province is deleted from one partition and inserted into another
-- in the same statement: the row still exists when the AFTER trigger looks, so nothing happens.
CREATE FUNCTION member_link_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ref bigint := (to_jsonb(NEW) ->> TG_ARGV[1])::bigint;
BEGIN
    IF ref IS NOT NULL AND NOT EXISTS (SELECT 1 FROM members m WHERE m.id = ref) THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
            TG_TABLE_NAME, TG_ARGV[0]
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0],
                  TABLE = TG_TABLE_NAME, DETAIL = format('Key (%s)=(%s) is not present in table "members".', TG_ARGV[1], ref);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_member_link BEFORE INSERT OR UPDATE OF member_id ON users
    FOR EACH ROW EXECUTE FUNCTION member_link_check('users_member_id_fkey', 'member_id');
CREATE TRIGGER grids_member_link BEFORE INSERT OR UPDATE OF leader_member_id ON grids
    FOR EACH ROW EXECUTE FUNCTION member_link_check('grids_leader_member_id_fkey', 'leader_member_id');

CREATE FUNCTION member_link_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM members m WHERE m.id = OLD.id) THEN
        DELETE FROM users WHERE member_id = OLD.id;
        UPDATE grids SET leader_member_id = NULL WHERE leader_member_id = OLD.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER members_links AFTER DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION member_link_gone();

-- Events are written by statements that do not know the layout (geo/live/events.py): they land
-- in partition 0 (province_id DEFAULT 0, the partition of public events), and an event of an
-- organisation moves to its province's partition in the same statement. Its NOTIFY is sent
-- again on the move with the same payload, which PostgreSQL delivers once per transaction.
CREATE FUNCTION events_to_province() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE events e SET province_id = o.province_id FROM organisations o
    WHERE e.province_id = 0 AND e.id = NEW.id AND o.id = NEW.org_id;
    RETURN NULL;
END $$;
CREATE TRIGGER events_province AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.province_id = 0 AND NEW.org_id IS NOT NULL)
    EXECUTE FUNCTION events_to_province();
