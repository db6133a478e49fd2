"""Catalog queries the conversion reads a table's definition with (re-created on its twin)."""

from __future__ import annotations

COLUMNS_SQL = (
    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
    " AND NOT attisdropped ORDER BY attnum"
)
PROVINCES_SQL = "SELECT id FROM organisations WHERE parent_id IS NULL ORDER BY id"
TRIGGERS_SQL = (
    "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass"
    " AND NOT tgisinternal ORDER BY tgname"
)
INDEXES_SQL = (
    "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass"
    " AND NOT i.indisunique AND NOT i.indisprimary ORDER BY i.indexrelid"
)
_COLS_OF = (
    "(SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY"
    " k(attnum, ord) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)"
)
KEYS_SQL = (
    "SELECT c.conname, c.contype, " + _COLS_OF + " FROM pg_constraint c"
    " WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u') ORDER BY c.contype, c.conname"
)
FKEYS_SQL = (
    "SELECT c.conname, c.confrelid::regclass::text, pg_get_constraintdef(c.oid), c.confdeltype, "
    + _COLS_OF
    + " FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.contype = 'f' ORDER BY c.conname"
)
INCOMING_SQL = (
    "SELECT conrelid::regclass::text, conname FROM pg_constraint"
    " WHERE confrelid = %s::regclass AND contype = 'f' ORDER BY 1, 2"
)
SEQUENCES_SQL = (
    "SELECT s.oid::regclass::text, a.attname FROM pg_depend d"
    " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
    " JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
    " WHERE d.refobjid = %s::regclass AND d.deptype = 'a'"
)
GRANTS_SQL = (
    "SELECT g.grantee, g.privilege_type FROM information_schema.role_table_grants g"
    " JOIN pg_class c ON c.oid = %s::regclass"
    " WHERE g.table_schema = 'public' AND g.table_name = c.relname"
    " AND g.grantee <> pg_get_userbyid(c.relowner) ORDER BY 1, 2"
)
ROW_SECURITY_SQL = (
    "SELECT count(*) FROM pg_class c WHERE c.oid = ANY(%s::regclass[]) AND (c.relrowsecurity"
    " OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))"
)
# rows per partition of a partitioned table (partitions with no row are absent)
PARTITION_ROWS = "SELECT tableoid::regclass::text, count(*) FROM {} GROUP BY 1 ORDER BY 1"
MISSING_PARTITIONS_SQL = (
    "SELECT o.id FROM organisations o WHERE o.parent_id IS NULL AND NOT EXISTS ("
    " SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = 'members'::regclass AND c.relname = 'members_prov_' || o.id)"
)
FK_ACTIONS = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}
PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
# The foreign keys that point at members (the conversion knows what each becomes).
INCOMING = {
    ("checkins", "checkins_member_id_fkey"),
    ("registrations", "registrations_member_id_fkey"),
    ("users", "users_member_id_fkey"),
    ("grids", "grids_leader_member_id_fkey"),
}
