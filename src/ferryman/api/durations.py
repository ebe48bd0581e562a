"""Go-style durations (``90s``, ``1h30m``, ``24h``) as Kubernetes users write them in specs.

Pure parsing shared by validation (to reject a bad value with its field path) and the domain
(to compute expiry). The grammar is the subset of Go's ``time.ParseDuration`` Flux accepts in CRDs.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

PATTERN: Final = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_WHOLE = re.compile(PATTERN)


def parse(text: str) -> timedelta:
    """Return the duration ``text`` denotes; ``ValueError`` names the text when it is not one."""
    if not _WHOLE.match(text):
        raise ValueError(f'"{text}" is not a duration such as "90s", "15m" or "1h30m"')
    seconds = sum(float(number) * _SECONDS[unit] for number, unit in _PART.findall(text))
    return timedelta(seconds=seconds)
