"""``python -m tests.chaos --faults N --seed S``: one chaos run; exits 1 when a check fails.

The last line printed is ``chaos: seed=S faults=N releases=R promotions=P duplicates=D
lost_approvals=L stuck=K``. Logs of every process and the fault journal stay in ``--dir``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

from tests.chaos import harness


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--faults", type=int, default=200, help="faults to inject (200)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault plan (1)")
    parser.add_argument("--dir", type=Path, default=None, help="run directory (a new temp dir)")
    parser.add_argument(
        "--hook-rate-limit",
        default=None,
        metavar="REQUESTS/SECONDS",
        help="run the controllers with the promotion-hook rate limiter (issue 13) at this rate "
        "(0/1 turns it off); the controller's default (20 per 30s) otherwise",
    )
    args = parser.parse_args(argv)
    root = args.dir or Path(tempfile.mkdtemp(prefix=f"ferryman-chaos-{args.seed}-"))
    root.mkdir(parents=True, exist_ok=True)
    # The harness's own actors (the local Flux, CI, the reviewer) log to a file, not the report.
    logging.basicConfig(
        filename=root / "harness.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    options = harness.Options(
        seed=args.seed, faults=args.faults, root=root, hook_rate_limit=args.hook_rate_limit
    )
    report = asyncio.run(harness.run(options, say=lambda line: print(line, flush=True)))
    for line in report.lines():
        print(line, flush=True)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
