-- A written item's shape (checked and made a MultiPolygon in WGS84 by the import's rules).
ST_GeomFromWKB({wkb}, 4326)
