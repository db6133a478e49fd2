-- One versioned table's trigger ({trigger} and {table} are identifiers, quoted by the composer).
CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
