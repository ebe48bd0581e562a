"""The transition table against the state diagram in ``docs/architecture.md`` and against itself.

The diagram's nodes are the promotion record's phases (``[*]``: no record for the revision yet);
each edge is labelled with the state (or the outside writer) that causes it. The diagram must list
exactly the edges of ``transitions.EDGES``, and the table must declare exactly the edges its
states produce: every edge the scenario table takes is declared for the state that took it, and
every declared edge is taken by some scenario.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.domain import builders as b
from tests.unit.domain import test_decisions as scenarios

from ferryman.domain import decisions, states, transitions

ARCHITECTURE = Path(__file__).resolve().parents[3] / "docs" / "architecture.md"
EDGE_LINE = re.compile(r"^\s*(\[\*\]|\w+)\s*-->\s*(\w+)\s*:\s*(\w+)\s*$")

Labelled = tuple[str, str, str]  # (from, to, label)


def diagram() -> set[Labelled]:
    """The edges of the first ``stateDiagram-v2`` block of the architecture guide."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = text.split("```mermaid\nstateDiagram-v2\n", 1)[1].split("```", 1)[0]
    edges: set[Labelled] = set()
    for line in block.splitlines():
        if not line.strip() or line.strip().startswith("%%"):
            continue
        match = EDGE_LINE.match(line)
        assert match is not None, f"not an edge: {line!r}"
        edges.add((match[1], match[2], match[3]))
    return edges


def declared() -> set[Labelled]:
    """Every edge the table and the outside writers declare, spelt as the diagram spells it."""
    return {
        (before.value if before is not None else "[*]", after.value, label)
        for label, edges in transitions.EDGES.items()
        for before, after in edges
    }


def taken(decision: decisions.Decision) -> set[tuple[type[states.State], transitions.Edge]]:
    """The edges a decision's steps took (a step that left the record as it was takes none)."""
    found: set[tuple[type[states.State], transitions.Edge]] = set()
    for step in decision.trail:
        before, after = step.before, step.after
        if after is None or before == after:
            continue
        same = before is not None and (before.revision, before.requested_at) == (
            after.revision,
            after.requested_at,
        )
        found.add((type(step.state), (before.phase if same and before else None, after.phase)))
    return found


def scenario_edges() -> set[tuple[type[states.State], transitions.Edge]]:
    edges: set[tuple[type[states.State], transitions.Edge]] = set()
    for rows in scenarios.SCENARIOS.values():
        for row in rows.values():
            decision = b.run(row.subject, scenarios._targets(row), now=row.now, owner=row.owner)
            edges |= taken(decision)
    return edges


def test_the_diagram_shows_exactly_the_declared_edges() -> None:
    """Each (phase → phase, cause) of ``transitions.EDGES`` is drawn, and nothing else is."""
    drawn, known = diagram(), declared()
    assert sorted(known - drawn) == [], "edges missing from docs/architecture.md"
    assert sorted(drawn - known) == [], "edges drawn that no writer takes"


def test_every_edge_taken_is_declared_for_its_state() -> None:
    """The scenarios never move a record along an edge its state does not declare."""
    for kind, edge in scenario_edges():
        assert edge in transitions.TABLE[kind].edges, (kind.__name__, edge)


def test_every_declared_edge_is_taken_by_a_scenario() -> None:
    """The table declares no edge its states cannot take."""
    seen = scenario_edges()
    for kind, rule in transitions.TABLE.items():
        for edge in rule.edges:
            assert (kind, edge) in seen, (kind.__name__, edge)


def test_outside_writers_do_not_overlap_the_table() -> None:
    """Labels are unique: a state's name never doubles as an outside writer's."""
    table = {kind.__name__ for kind in transitions.TABLE}
    outside = set(transitions.EDGES) - table
    assert outside == {
        "StrategySucceeded",
        "StrategyFailed",
        "StrategyFailedPermanently",
        "ChangeDiffers",
        "Rejection",
    }
