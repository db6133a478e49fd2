-- Building points (on the footprint) in the area ({where}) as one WKB multipoint, with the
-- estimated residents of each (residential floor area / {m2} m²) and their codes, by id.
SELECT ST_AsBinary(ST_Collect(ST_PointOnSurface(b.geom) ORDER BY b.id)),
       array_agg(CASE WHEN b.use = ANY({uses}) THEN ST_Area(b.geom::geography)
                      * coalesce(b.floors, greatest(1, round(b.height_m / 3))) / {m2} ELSE 0 END
                 ORDER BY b.id),
       array_agg(b.code ORDER BY b.id)
FROM buildings b WHERE {where}
