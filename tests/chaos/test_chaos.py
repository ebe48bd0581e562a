"""A small chaos run inside ``make test``: a dozen faults on real processes, checked from Git.

``make chaos`` runs the full harness (``CHAOS_FAULTS``, default 200); this seed keeps the same
machinery honest on every change within a minute: every fault kind can come up, and the verdict
must be ``duplicates=0 lost_approvals=0 stuck=0``.
"""

from __future__ import annotations

from pathlib import Path

from tests.chaos import harness

SEED = 75  # draws a pause past the lease, an API server kill, a replica kill, API faults, a 429
FAULTS = 12


async def test_a_small_seed_of_faults_promotes_every_release_once(tmp_path: Path) -> None:
    """Kills, a freeze past the lease, API and Git host faults: nothing twice, nothing lost."""
    options = harness.Options(
        seed=SEED,
        faults=FAULTS,
        root=tmp_path,
        fault_interval=(0.3, 1.5),
        release_interval=(4.0, 8.0),
        settle_timeout=120.0,
    )
    report = await harness.run(options, say=lambda line: None)
    print("\n".join(report.lines()))
    assert report.lines()[-1].endswith("duplicates=0 lost_approvals=0 stuck=0"), report.lines()
    assert sum(report.faults.values()) == FAULTS
    assert report.releases and report.promotions >= 2
