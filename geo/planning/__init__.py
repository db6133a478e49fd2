"""Planning (issue 14): scenarios, capacity (2SFCA), the accessibility surface, grids, red
education routes and the printable report. Imports no FastAPI."""
