"""djmap layers layer."""
