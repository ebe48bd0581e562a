"""The breadcrumb every page shows under its header: Pipelines, ns/name, History.

Derived from the route that rendered the page (its path and ``{namespace}``/``{name}``), so a
page needs no code of its own for it and an error page shows where it was asked for. The last
crumb is the current page (``aria-current="page"`` in ``base.html``). Pages that are not inside
the pipelines tree (sign-in) have none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Crumb:
    """One step of the trail."""

    label: str
    url: str
    current: bool = False  # the page being shown


def trail(path: str, path_params: Mapping[str, str]) -> tuple[Crumb, ...]:
    """The breadcrumb of the page at ``path`` (``()`` for pages outside the pipelines)."""
    if path == "/":
        return (Crumb("Pipelines", "/", current=True),)
    namespace, name = path_params.get("namespace", ""), path_params.get("name", "")
    if not namespace or not name:
        return ()
    page = f"/pipelines/{quote(namespace, safe='')}/{quote(name, safe='')}"
    found = [Crumb("Pipelines", "/"), Crumb(f"{namespace}/{name}", page)]
    if path.endswith("/history"):
        found.append(Crumb("History", f"{page}/history"))
    last = found.pop()
    return (*found, Crumb(last.label, last.url, current=True))
