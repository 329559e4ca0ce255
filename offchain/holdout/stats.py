"""The statistical resolution of an accuracy measured on a sample of images.

An accuracy measured on ``n`` images drawn from the data's distribution is a binomial
proportion: its standard error at true accuracy ``p`` is ``sqrt(p (1 - p) / n)``. Two models
measured on *different* samples differ by about ``sqrt(2)`` standard errors from sampling alone,
which is why hold-out mode measures a candidate and its parent on the same shard: the noise of a
paired comparison is that of the images on which the two models disagree, far less.
"""

from __future__ import annotations

import math

from offchain.errors import PoflValueError


def standard_error(p: float, n: int) -> float:
    """The standard error of an accuracy ``p`` (0..1) measured on ``n`` images: ``sqrt(p (1 - p) / n)``."""
    if not 0.0 <= p <= 1.0:
        raise PoflValueError(f"accuracy must be between 0 and 1, got {p}")
    if n < 1:
        raise PoflValueError(f"the number of images must be at least 1, got {n}")
    return math.sqrt(p * (1.0 - p) / n)


def images_for_resolution(p: float, resolution: float) -> int:
    """The fewest images whose standard error at accuracy ``p`` is at most ``resolution`` (both 0..1)."""
    if not 0.0 < resolution <= 1.0:
        raise PoflValueError(f"resolution must be in (0, 1], got {resolution}")
    standard_error(p, 1)  # checks p
    return max(1, math.ceil(p * (1.0 - p) / resolution**2 - 1e-9))
