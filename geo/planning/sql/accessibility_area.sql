-- The area of the built surface: every district's boundary, else the extent of the roads.
SELECT ST_AsBinary(coalesce(
    (SELECT ST_Union(d.geom) FROM districts d),
    (SELECT ST_Extent(r.geom)::geometry FROM roads r WHERE r.source IS NOT NULL)
))
