INSERT INTO heat_cells (layer, token, res, cell, merged, count, geom)
VALUES ($1, $2, $3, $4, $5, $6, ST_GeomFromText($7, 4326))
