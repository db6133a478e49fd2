SELECT token, extract(epoch FROM built_at) FROM accessibility_cells LIMIT 1
