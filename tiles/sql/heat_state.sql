INSERT INTO heat_state (layer, token) VALUES ($1, $2) ON CONFLICT (layer)
DO UPDATE SET token = EXCLUDED.token, built_at = now()
