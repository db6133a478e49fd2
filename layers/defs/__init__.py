"""The layers djmap serves: one module per layer (its `LAYER`), with its SQL beside it.

layers/registry.py finds every module here; a new layer is one more module (and its `.sql`).
"""
