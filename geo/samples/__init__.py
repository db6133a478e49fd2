"""The sample district: a real boundary (上城区, 杭州) filled with synthetic, seeded party data."""

from geo.samples.generate import LOAD_ORDER, SampleSpec, generate, read_manifest

__all__ = ["LOAD_ORDER", "SampleSpec", "generate", "read_manifest"]
