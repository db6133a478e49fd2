-- Mark a layer's cluster tables as built for a token (and format).
INSERT INTO tile_agg_state (layer, token) VALUES ({layer}, {token}) ON CONFLICT (layer)
DO UPDATE SET token = EXCLUDED.token, built_at = now()
