"""The national data set (issue 15 §1): a province → city → district → 街道 → community tree with
synthetic members, streamed with bounded memory (`djmap samples generate --scale national`)."""

from geo.samples.national.generate import generate_national
from geo.samples.national.spec import NationalSpec

__all__ = ["NationalSpec", "generate_national"]
