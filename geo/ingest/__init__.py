"""The ingest core: `import_file(url, kind, path, …)` reads, validates and upserts one file."""

from geo.ingest.core import ImportResult, import_file
from geo.ingest.spec import KINDS

__all__ = ["KINDS", "ImportResult", "import_file"]
