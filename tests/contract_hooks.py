"""schemathesis CLI hooks (SCHEMATHESIS_HOOKS=tests/contract_hooks.py): the steering of
tests/contract.py, with the facts read from the JSON file named by DJMAP_CONTRACT_FACTS
({"facts": {...}, "layers": [...], "collections": [...]}, written by tests/test_contract.py)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import schemathesis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from contract import Facts, steer

_data = json.loads(Path(os.environ["DJMAP_CONTRACT_FACTS"]).read_text())
_facts = Facts(**{**_data["facts"], "bbox": tuple(_data["facts"]["bbox"])})
steer(schemathesis.hook, _facts, _data["layers"], _data["collections"])
