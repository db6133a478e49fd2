"""Layers the tests register at run time (each one module and its SQL, as a new layer would be)."""
