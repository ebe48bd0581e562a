"""SQLite object store with one global resourceVersion, a bounded event log and in-memory fan-out.

Every real write is one SQLite transaction (WAL, ``synchronous=NORMAL``) that stores the object,
appends a watch event and advances the global resourceVersion, so after a ``kill -9`` the objects,
their resourceVersions and the event log agree. Watchers are told about each committed event at
once through callbacks (no polling); resuming a watch replays the event log from SQLite.

The store is single-threaded by design: the server calls it only from its event loop thread, which
makes a read-compare-write sequence atomic without locks.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferryman.embedded.apiserver import errors, private

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    gr TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (gr, ns, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, gr TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, prev TEXT
);
CREATE INDEX IF NOT EXISTS events_gr ON events (gr, rv);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
"""

#: etcd's default request limit; Kubernetes maps the error to 413.
MAX_OBJECT_BYTES = 1536 * 1024


def dumps(obj: Any) -> str:
    """Compact JSON, the form objects are stored and sent in."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _stored_form(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with ``apiVersion`` and ``kind`` as its first keys, so a GET can tell the stored
    apiVersion from the row's first bytes and send the row as it is (``Store.get_raw``)."""
    if "apiVersion" not in obj:
        return obj
    head: dict[str, Any] = {key: obj[key] for key in ("apiVersion", "kind") if key in obj}
    return {**head, **obj}


@dataclass(frozen=True)
class Event:
    """A committed change: ``type`` is ADDED, MODIFIED or DELETED; ``prev`` the state before."""

    type: str
    rv: int
    gr: str
    obj: dict[str, Any]
    prev: dict[str, Any] | None
    data: str = ""  # ``obj`` as committed (JSON text), so a watch need not encode it again


Listener = Callable[[Event], None]


class Store:
    """Objects keyed by (group/resource, namespace, name); see the module docstring."""

    def __init__(self, path: Path, *, event_log_limit: int = 50_000) -> None:
        private.database(path)  # 0600 before SQLite creates -wal/-shm with the same mode
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._limit = event_log_limit
        self._rv = self._meta("rv")
        self._compacted = self._meta("compacted")
        self._listeners: dict[int, tuple[str, Listener]] = {}
        self._next_listener = 0
        private.database(path)  # the companions now exist: repair any an older version left open

    def close(self) -> None:
        """Checkpoint and close the database."""
        self._db.close()

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    @property
    def rv(self) -> int:
        """The current global resourceVersion (the list RV)."""
        return self._rv

    @property
    def compacted_rv(self) -> int:
        """Events at or below this RV are gone; watching from an older RV answers 410."""
        return self._compacted

    # ------------------------------------------------------------------ reads
    def get(self, gr: str, ns: str, name: str) -> dict[str, Any] | None:
        """The stored object, or None."""
        row = self._db.execute(
            "SELECT data FROM objects WHERE gr = ? AND ns = ? AND name = ?", (gr, ns, name)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def get_raw(self, gr: str, ns: str, name: str) -> str | None:
        """The stored object's JSON text as stored (compact, ``apiVersion`` first), or None."""
        row = self._db.execute(
            "SELECT data FROM objects WHERE gr = ? AND ns = ? AND name = ?", (gr, ns, name)
        ).fetchone()
        return str(row[0]) if row else None

    def scan(
        self, gr: str, ns: str | None, *, after: tuple[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Objects of one resource ordered by (namespace, name), optionally after a key."""
        sql = "SELECT data FROM objects WHERE gr = ?"
        args: list[Any] = [gr]
        if ns is not None:
            sql += " AND ns = ?"
            args.append(ns)
        if after is not None:
            sql += " AND (ns, name) > (?, ?)"
            args.extend(after)
        sql += " ORDER BY ns, name"
        return [json.loads(r[0]) for r in self._db.execute(sql, args)]

    def scan_raw(self, gr: str, ns: str | None) -> list[str]:
        """``scan``'s objects as their stored JSON text, not decoded."""
        sql = "SELECT data FROM objects WHERE gr = ?"
        args: list[Any] = [gr]
        if ns is not None:
            sql += " AND ns = ?"
            args.append(ns)
        return [str(r[0]) for r in self._db.execute(sql + " ORDER BY ns, name", args)]

    def scan_at(
        self, gr: str, ns: str | None, rv: int, *, after: tuple[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """``scan`` as of resourceVersion ``rv``: current objects with later changes undone.

        For every key changed after ``rv`` the first later event says what it was: absent (it
        was ADDED later) or its ``prev`` state. Answers 410 when ``rv`` was compacted away.
        """
        if rv >= self._rv:
            return self.scan(gr, ns, after=after)
        if rv < self._compacted:
            raise errors.gone(
                "The provided continue parameter is too old to display a consistent list "
                "result. You can start a new list without the continue parameter."
            )
        state = {
            (o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
            for o in self.scan(gr, ns, after=after)
        }
        rows = self._db.execute(
            "SELECT type, data, prev FROM events WHERE gr = ? AND rv > ? ORDER BY rv", (gr, rv)
        )
        undone: set[tuple[str, str]] = set()
        for kind, data, prev in rows:
            meta = json.loads(data)["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if key in undone or (ns is not None and key[0] != ns) or (after and key <= after):
                continue
            undone.add(key)
            if kind == "ADDED" or not prev:
                state.pop(key, None)
            else:
                state[key] = json.loads(prev)
        return [state[key] for key in sorted(state)]

    def referencing(self, uid: str | None) -> list[tuple[str, dict[str, Any]]]:
        """(group/resource, object) of every object with an ownerReference to ``uid``."""
        if not uid:
            return []
        rows = self._db.execute(
            "SELECT gr, data FROM objects WHERE data LIKE ? ORDER BY gr, ns, name",
            (f'%"ownerReferences":%"uid":"{uid}"%',),
        )
        found = []
        for gr, data in rows:
            obj = json.loads(data)
            if any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or []):
                found.append((gr, obj))
        return found

    def namespaced_resources(self, ns: str) -> list[str]:
        """Group/resources that hold at least one object in namespace ``ns``."""
        rows = self._db.execute("SELECT DISTINCT gr FROM objects WHERE ns = ?", (ns,))
        return [r[0] for r in rows]

    def count(self) -> int:
        """Number of stored objects (for the benchmark and tests)."""
        return int(self._db.execute("SELECT COUNT(*) FROM objects").fetchone()[0])

    def events_since(self, gr: str, rv: int) -> list[Event]:
        """The logged events of one resource after ``rv``, oldest first."""
        if rv < self._compacted:
            raise errors.gone(f"too old resource version: {rv} ({self._compacted})")
        rows = self._db.execute(
            "SELECT rv, type, data, prev FROM events WHERE gr = ? AND rv > ? ORDER BY rv", (gr, rv)
        )
        return [
            Event(t, int(r), gr, json.loads(d), json.loads(p) if p else None, d)
            for r, t, d, p in rows
        ]

    # ----------------------------------------------------------------- writes
    def write(self, gr: str, obj: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
        """Create (``prev`` None) or replace an object; assigns its new resourceVersion."""
        return self._commit(gr, "ADDED" if prev is None else "MODIFIED", obj, prev)

    def delete(self, gr: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Remove an object; the DELETED event carries its last state at the new RV."""
        return self._commit(gr, "DELETED", obj, obj)

    def _commit(
        self, gr: str, kind: str, obj: dict[str, Any], prev: dict[str, Any] | None
    ) -> dict[str, Any]:
        meta = obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        # The state before this event (for a deletion: the object at its last RV), which is
        # what a paged list at an older RV must see (``scan_at``). For a modification that is
        # the row being replaced: copied by SQLite below rather than encoded again here.
        prev_data = dumps(prev) if prev is not None and kind != "MODIFIED" else None
        rv = self._rv + 1
        meta["resourceVersion"] = str(rv)
        data = dumps(_stored_form(obj))
        if kind != "DELETED" and len(data) > MAX_OBJECT_BYTES:
            raise errors.too_large("etcdserver: request is too large")
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if kind == "MODIFIED":
                db.execute(
                    "INSERT INTO events (rv, gr, type, data, prev) VALUES (?, ?, ?, ?, (SELECT "
                    "data FROM objects WHERE gr = ? AND ns = ? AND name = ?))",
                    (rv, gr, kind, data, gr, ns, name),
                )
            if kind == "DELETED":
                db.execute(
                    "DELETE FROM objects WHERE gr = ? AND ns = ? AND name = ?", (gr, ns, name)
                )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO objects (gr, ns, name, rv, data) VALUES (?, ?, "
                    "?, ?, ?)",
                    (gr, ns, name, rv, data),
                )
            if kind != "MODIFIED":
                db.execute(
                    "INSERT INTO events (rv, gr, type, data, prev) VALUES (?, ?, ?, ?, ?)",
                    (rv, gr, kind, data, prev_data),
                )
            db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('rv', ?)", (rv,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._rv = rv
        if rv - self._compacted > self._limit + self._limit // 10:
            self.compact(rv - self._limit)
        event = Event(kind, rv, gr, obj, prev, data)
        for listener_gr, listener in list(self._listeners.values()):
            if listener_gr == gr:
                listener(event)
        return obj

    def compact(self, upto: int | None = None) -> None:
        """Forget events at or below ``upto`` (default: all); older RVs then answer 410."""
        target = self._rv if upto is None else min(upto, self._rv)
        if target <= self._compacted:
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM events WHERE rv <= ?", (target,))
        self._db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('compacted', ?)", (target,))
        self._db.execute("COMMIT")
        self._compacted = target

    # ---------------------------------------------------------------- fan-out
    def subscribe(self, gr: str, listener: Listener) -> int:
        """Call ``listener`` for every event of ``gr`` committed from now on; returns a handle."""
        self._next_listener += 1
        self._listeners[self._next_listener] = (gr, listener)
        return self._next_listener

    def unsubscribe(self, handle: int) -> None:
        """Stop the calls registered under ``handle``."""
        self._listeners.pop(handle, None)
