-- Member homes in the area and the caller's scope ({where}), as one WKB multipoint.
SELECT ST_AsBinary(ST_Collect(m.home)) FROM members m
WHERE m.home IS NOT NULL AND {where}
