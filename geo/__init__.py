"""djmap geo layer."""
