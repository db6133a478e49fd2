"""SQL of the live loop's writes (geo/live), one statement per file."""
