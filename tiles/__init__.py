"""djmap tiles layer."""
