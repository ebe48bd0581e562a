"""Fuzz the server with 100,000+ generated requests: the properties of tests/unit/server/test_fuzz.

Each of the four runs ``--examples`` examples (default 25,000, so 100,000 in all), passed to the
test module through ``FERRYMAN_FUZZ_EXAMPLES`` before it is imported. Properties: no 5xx and no
unhandled exception; no status write, Event or trigger from unauthenticated input; every bad
signature the same 401; signed arbitrary events are triggers only; refused approvals write
nothing. Run ``PYTHONPATH=. .venv/bin/python bench/fuzz_webhook.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import time

from tests.unit.server import harness

PROPERTIES = [
    "test_unauthenticated_requests_never_fail_or_change_state",
    "test_random_signatures_are_always_the_same_401",
    "test_signed_random_events_are_triggers_only",
    "test_authenticated_garbage_never_fails_and_only_valid_decisions_write",
]


def main() -> None:
    """Run every property with the requested number of examples and print what ran."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=25_000, help="examples per property")
    args = parser.parse_args()
    os.environ["FERRYMAN_FUZZ_EXAMPLES"] = str(args.examples)
    test_fuzz = importlib.import_module("tests.unit.server.test_fuzz")
    loop = asyncio.new_event_loop()
    total = 0
    try:
        h = harness.Harness(legacy=True)
        loop.run_until_complete(h.waiting())
        fixture = test_fuzz.Fixture(loop, h)
        for name in PROPERTIES:
            start = time.perf_counter()
            getattr(test_fuzz, name)(fuzz=fixture)
            total += args.examples
            print(f"{name}: {args.examples} examples in {time.perf_counter() - start:.1f} s")
    finally:
        loop.close()
    print(f"{total} generated requests, no failure")


if __name__ == "__main__":
    main()
