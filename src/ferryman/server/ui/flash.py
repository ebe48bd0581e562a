"""The result of an action, said once after the POST-redirect-GET: "You approved 6.2.0 into prod."

A form posts, the handler acts and redirects to the pipeline page with ``?done=<action>&
environment=<env>&revision=<rev>``; the page shows the sentence in a ``role="status"`` region (and
``live.js`` announces it). Nothing is stored: the query names only an action from a fixed list and
values that pass the same rules as the URL's path, so a crafted link can at most print a false
"You approved …" to the person who opened it — never markup (autoescaped) and never an action.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlencode

from ferryman.server import params

SENTENCES: Final = {
    "approve": "You approved {revision} into {environment}.",
    "reject": "You rejected {revision} for {environment}: it will not be promoted there.",
    "hold": "You held {environment}: nothing is promoted into it until it is unheld.",
    "unhold": "You released the hold on {environment}.",
    "promote": "You pinned {environment} at {revision}.",
    "rollback": "You rolled {environment} back; it stays held there.",
    "verify": "{environment}'s checks run again.",
}


def location(page: str, action: str, environment: str, revision: str = "") -> str:
    """Where to send the browser after ``action`` succeeded."""
    query = {"done": action, "environment": environment}
    if revision:
        query["revision"] = revision
    return f"{page}?{urlencode(query)}"


def message(query: Mapping[str, str]) -> str:
    """The sentence for the page's query (``""`` when it names no known action or bad values)."""
    template = SENTENCES.get(query.get("done", ""))
    if template is None:
        return ""
    revision = query.get("revision", "")
    try:
        environment = params.environment(query.get("environment", ""))
    except params.InvalidParameter:
        return ""
    if "{revision}" in template and not params.is_revision(revision):
        return ""
    return template.format(environment=environment, revision=revision)
