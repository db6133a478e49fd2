"""djmap web layer."""
