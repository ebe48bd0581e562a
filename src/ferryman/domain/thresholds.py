"""Thresholds of Prometheus checks: ``< 0.01``, ``>= 0.99``, ``== 1``, and whether a value holds.

The spec's pattern (``api.verification.THRESHOLD_PATTERN``) admits a comparison and a number;
``parse`` splits one, ``holds`` applies it. NaN (what ``0/0`` gives when a service had no
traffic) satisfies no comparison but ``!=``, as in IEEE 754: a query that divides by zero does
not pass a ``<`` threshold by accident.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ferryman.api import verification

_SPLIT: Final = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")
_COMPARE: Final[dict[str, Callable[[float, float], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_WHOLE: Final = re.compile(verification.THRESHOLD_PATTERN)


@dataclass(frozen=True)
class Threshold:
    """A comparison with a fixed number."""

    operator: str
    bound: float

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the comparison."""
        return _COMPARE[self.operator](value, self.bound)

    def __str__(self) -> str:
        return f"{self.operator} {format_value(self.bound)}"


def parse(text: str) -> Threshold:
    """The threshold ``text`` spells; ``ValueError`` naming it when it is not one."""
    match = _SPLIT.match(text) if _WHOLE.match(text) else None
    if match is None:
        raise ValueError(f'"{text}" is not a threshold such as "< 0.01" or ">= 0.99"')
    return Threshold(match[1], float(match[2]))


def format_value(value: float) -> str:
    """A measured value as status shows it: six significant digits (``0.00412``, ``1e+06``)."""
    if math.isnan(value):
        return "NaN"
    return f"{value:.6g}"
