-- A written item's point.
ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)
