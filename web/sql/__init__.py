"""The SQL of the page panels (web/queries.py): one statement per `.sql` file, holes `{name}`
filled by geo/compose.py."""
