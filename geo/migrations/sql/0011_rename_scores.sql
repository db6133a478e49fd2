-- Revision 0011: the health scores' table renamed with its constraints (the primary key's index
-- follows its constraint) and its version trigger, {old}* to {new}* (identifiers, quoted by the
-- composer; the downgrade swaps them).
ALTER TABLE {old} RENAME TO {new};
ALTER TABLE {new} RENAME CONSTRAINT {old_pkey} TO {new_pkey};
ALTER TABLE {new} RENAME CONSTRAINT {old_fkey} TO {new_fkey};
ALTER TABLE {new} RENAME CONSTRAINT {old_status} TO {new_status};
ALTER TABLE {new} RENAME CONSTRAINT {old_score} TO {new_score};
ALTER TRIGGER {old_trigger} ON {new} RENAME TO {new_trigger};
