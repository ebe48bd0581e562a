"""The web UI: server-rendered pages over the approval API's ports (see ``routes``).

``ui_routes(deps)`` returns the routes the HTTP server mounts next to the JSON API.
"""

from __future__ import annotations

from ferryman.server.ui.routes import ui_routes

__all__ = ["ui_routes"]
