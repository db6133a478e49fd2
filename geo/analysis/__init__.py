"""Analysis jobs members and planners come for: nearest site, coverage, proposed sites, check-in."""
