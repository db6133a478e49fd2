-- A NOTIFY on djmap_data_versions whenever a table's data version moves (tiles/versions.py).
CREATE FUNCTION notify_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('djmap_data_versions', NEW.table_name);
    RETURN NULL;
END $$;
CREATE TRIGGER data_versions_notify AFTER INSERT OR UPDATE ON data_versions
    FOR EACH ROW EXECUTE FUNCTION notify_data_version();
