"""djmap api layer."""
