"""The timeline chart of a pipeline page: ``domain.timeline`` laid out as an SVG, server-side.

Pure geometry: this module turns the spans of ``domain.timeline.build`` into rows, bars and axis
ticks in the units of a 480-wide ``viewBox`` (the chart scales to the page, a phone's width
included), plus the same facts in words (``sentences``, ``summary``) that the page shows beside
the chart for screen readers and for anyone who prefers to read. ``templates/_timeline.html``
draws it; every string reaches the page through Jinja2's autoescaping, nothing is marked safe, and
no style is inline (the page's Content-Security-Policy forbids it): bars carry classes that
``static/ui.css`` colours — one colour per revision, so a revision can be followed from
environment to environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from ferryman.api import status
from ferryman.domain import timeline

WIDTH: Final = 480
LEFT: Final = 72  # where time starts (environment names to its left)
RIGHT: Final = WIDTH - 8
TOP: Final = 6
ROW: Final = 38  # height of one environment's row
BAR: Final = 17  # the running bar, at the top of the row
LANE: Final = 7  # the approval/promotion lane under it
CHAR: Final = 7.2  # width of one character of a bar's label, in viewBox units
COLOURS: Final = 6  # revision colours in ui.css (.tl-rev-0 … .tl-rev-5)
NAME_CHARACTERS: Final = 9
MIN_RANGE: Final = timedelta(seconds=10)
STEPS: Final = tuple(
    timedelta(seconds=s)
    for s in (
        *(5, 10, 15, 30),
        *(60 * m for m in (1, 2, 5, 10, 15, 30)),
        *(3600 * h for h in (1, 2, 4, 6, 12, 24, 48)),
        *(86400 * d for d in (7, 14, 30)),
    )
)
_KIND_WORDS: Final = {
    timeline.Kind.RUNNING: "ran",
    timeline.Kind.APPROVAL: "waited for approval of",
    timeline.Kind.PROMOTING: "was being promoted to",
}


@dataclass(frozen=True)
class Bar:
    """One rectangle (and the revision written on it when it fits)."""

    x: float
    y: float
    width: float
    height: float
    kind: str  # running, approval, promoting
    colour: int  # revision colour (running bars)
    label: str  # the revision, when it fits on the bar; "" otherwise
    label_x: float
    label_y: float
    title: str  # tooltip: who, what, from when to when
    open: bool  # still lasting at the end of the chart


@dataclass(frozen=True)
class Row:
    """One environment's row."""

    name: str
    label: str  # the name, cut to fit
    y: float  # top of the row
    label_y: float


@dataclass(frozen=True)
class Tick:
    """A time on the axis."""

    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Everything ``_timeline.html`` draws."""

    width: int
    height: float
    rows: tuple[Row, ...]
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    axis_y: float
    title: str
    description: str
    sentences: tuple[str, ...]  # each finished promotion in words, newest first
    summary: tuple[str, ...]  # median lead time per environment, in words


def _clock(moment: datetime, *, long: bool) -> str:
    return moment.strftime("%d %b %H:%M" if long else "%H:%M:%S")


def _span_words(span: timeline.Span, end: datetime, *, long: bool) -> str:
    until = "now" if span.end is None else _clock(span.end, long=long)
    outcome = (
        f" ({span.outcome})" if span.outcome and span.kind is not timeline.Kind.RUNNING else ""
    )
    what = _KIND_WORDS[span.kind]
    start = _clock(span.start, long=long)
    took = timeline.words((span.end or end) - span.start)
    return f"{span.environment} {what} {span.revision} from {start} to {until}, {took}{outcome}"


def _ticks(start: datetime, end: datetime, x: Scale) -> tuple[Tick, ...]:
    """At most five round times on the axis."""
    length = end - start
    step = next((s for s in STEPS if length / s <= 5), STEPS[-1])
    if step >= timedelta(days=1):
        form = "%d %b"
    elif length > timedelta(days=1):
        form = "%a %H:%M"
    else:
        form = "%H:%M" if step >= timedelta(minutes=1) else "%H:%M:%S"
    first = datetime.fromtimestamp(
        -(-start.timestamp() // step.total_seconds()) * step.total_seconds(), tz=start.tzinfo
    )
    ticks = []
    moment = first
    while moment <= end:
        ticks.append(Tick(x(moment), moment.strftime(form)))
        moment += step
    return tuple(ticks)


class Scale:
    """Time → x in viewBox units."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.length = max(end - start, MIN_RANGE)

    def __call__(self, moment: datetime) -> float:
        fraction = (moment - self.start) / self.length
        return round(LEFT + fraction * (RIGHT - LEFT), 1)


def _colours(spans: Sequence[timeline.Span]) -> dict[str, int]:
    """One colour per revision, in the order revisions first appear in time."""
    found: dict[str, int] = {}
    for span in sorted(spans, key=lambda s: s.start):
        found.setdefault(span.revision, len(found) % COLOURS)
    return found


def _bar(
    span: timeline.Span, row: Row, x: Scale, end: datetime, colours: dict[str, int], long: bool
) -> Bar:
    left, right = x(span.start), x(span.end or end)
    width = max(right - left, 1.5)
    running = span.kind is timeline.Kind.RUNNING
    y, height = (row.y + 5, BAR) if running else (row.y + 5 + BAR + 3, LANE)
    fits = running and width >= len(span.revision) * CHAR + 6
    return Bar(
        x=left,
        y=y,
        width=round(width, 1),
        height=height,
        kind=span.kind.value,
        colour=colours[span.revision],
        label=span.revision if fits else "",
        label_x=round(left + 3, 1),
        label_y=y + BAR - 5,
        title=_span_words(span, end, long=long),
        open=span.end is None,
    )


def _summary(arrivals: Sequence[timeline.Arrival], environments: Sequence[str]) -> tuple[str, ...]:
    lines = []
    for name in environments[1:]:
        mine = [a.lead_time for a in arrivals if a.environment == name]
        leads = [lead for lead in mine if lead is not None]  # a lead time of 0 s counts too
        middle = timeline.median(leads)
        if middle is not None:
            count = f"{len(leads)} arrival{'s' if len(leads) > 1 else ''}"
            lines.append(f"Median lead time to {name}: {timeline.words(middle)} ({count}).")
    return tuple(lines)


def chart(environments: Sequence[str], current: status.PipelineStatus) -> Chart | None:
    """The chart of ``current`` (``None`` when nothing has run yet)."""
    line = timeline.build(environments, current)
    if not line.spans or line.start is None or line.end is None:
        return None
    start, end = line.start, line.end
    x, long = Scale(start, end), end - start > timedelta(days=1)
    rows = tuple(
        Row(
            name=name,
            label=name if len(name) <= NAME_CHARACTERS else name[: NAME_CHARACTERS - 1] + "…",
            y=TOP + index * ROW,
            label_y=TOP + index * ROW + 5 + BAR - 5,
        )
        for index, name in enumerate(line.environments)
    )
    by_name = {row.name: row for row in rows}
    colours = _colours(line.spans)
    bars = tuple(_bar(s, by_name[s.environment], x, end, colours, long) for s in line.spans)
    axis_y = TOP + len(rows) * ROW + 2
    arrivals = timeline.arrivals(current)
    names = ", ".join(line.environments)
    return Chart(
        width=WIDTH,
        height=axis_y + 18,
        rows=rows,
        bars=bars,
        ticks=_ticks(start, end, x),
        axis_y=axis_y,
        title="Timeline: revisions flowing through " + names,
        description=(
            f"From {_clock(start, long=True)} to {_clock(end, long=True)} UTC, one row per "
            "environment: which revision it ran, where promotions waited for approval and how "
            "long they took. The same figures follow in words."
        ),
        sentences=tuple(timeline.sentence(a, line.environments[0]) for a in reversed(arrivals)),
        summary=_summary(arrivals, line.environments),
    )
