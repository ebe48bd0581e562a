"""Field ownership: ``metadata.managedFields`` for every write, and server-side apply.

Why: ``kubectl apply --server-side`` and controllers that apply (lightkube's ``force=True``
patches) rely on the server to merge their configuration, to remove what they stopped applying,
and to refuse — with a 409 naming the fields — changes to fields another manager owns. The rules
kept from Kubernetes' structured-merge-diff:

- Update operations (create, PUT, merge/JSON/strategic patches) give their manager the fields
  whose value they changed (and the maps they created) and take those fields from every other
  manager, without conflicts; removed fields leave every set;
- an Apply sets exactly the fields of its configuration: another manager owning one of them
  with a different value is a conflict (409, ``FieldManagerConflict`` causes) unless ``force``,
  which moves the ownership; equal values are shared;
- a field the applier owned before and no longer applies is removed when no other manager owns
  it, and kept (only disowned) otherwise;
- each (manager, operation, subresource) has one entry; empty entries are dropped; timestamps do
  not make a write (a write that changes nothing else keeps the object and its resourceVersion).
"""

from __future__ import annotations

import copy
from typing import Any

from ferryman.embedded.apiserver import errors, fieldpaths
from ferryman.embedded.apiserver.errors import StatusCause
from ferryman.embedded.apiserver.fieldpaths import Path, Shape

APPLY, UPDATE = "Apply", "Update"


def _entry_key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (
        str(entry.get("manager", "")),
        str(entry.get("operation", "")),
        str(entry.get("subresource", "")),
    )


def _sets(entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], set[Path]]]:
    return [(e, fieldpaths.decode(e.get("fieldsV1"))) for e in entries if isinstance(e, dict)]


def _rebuild(
    owned: list[tuple[dict[str, Any], set[Path]]],
    mine: tuple[str, str, str],
    my_set: set[Path],
    *,
    api_version: str,
    now: str,
) -> list[dict[str, Any]]:
    """Entries with their new sets; ``mine`` gets ``my_set`` (appended when new)."""
    out: list[dict[str, Any]] = []
    found = False
    for entry, paths in owned:
        if _entry_key(entry) == mine:
            found = True
            paths = my_set
            entry = {**entry, "apiVersion": api_version, "time": now}
        if paths:
            out.append({**entry, "fieldsType": "FieldsV1", "fieldsV1": fieldpaths.encode(paths)})
    if not found and my_set:
        manager, operation, subresource = mine
        entry = {
            "manager": manager,
            "operation": operation,
            "apiVersion": api_version,
            "time": now,
            "fieldsType": "FieldsV1",
            "fieldsV1": fieldpaths.encode(my_set),
        }
        if subresource:
            entry["subresource"] = subresource
        out.append(entry)
    return out


def without_times(entries: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Entries minus their timestamps, for telling a no-op write from a real one."""
    return [
        {k: v for k, v in e.items() if k != "time"} for e in entries or [] if isinstance(e, dict)
    ]


# --------------------------------------------------------------------------- Update


def _changed(old: dict[str, Any] | None, new: dict[str, Any], present: set[Path]) -> set[Path]:
    """The paths of ``new`` (``present``: all of them) that ``old`` did not have, or had with
    another value."""
    before = old or {}
    changed: set[Path] = set()
    containers = {path[:i] for path in present for i in range(1, len(path))}
    for path in present:
        was, now = fieldpaths.get(before, path), fieldpaths.get(new, path)
        if was is fieldpaths.MISSING:
            changed.add(path)
        elif path in containers or _is_item(path):
            continue  # a map, list or item that already existed is not "set" by this write
        elif was != now:
            changed.add(path)
    return changed


def _is_item(path: Path) -> bool:
    return bool(path) and path[-1][0] in ("k", "v")


def update(
    entries: list[dict[str, Any]],
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    shape: Shape,
    manager: str,
    subresource: str,
    api_version: str,
    now: str,
) -> list[dict[str, Any]]:
    """Managed fields after an Update operation that turned ``old`` into ``new``."""
    present = fieldpaths.nodes(new, shape)
    changed = _changed(old, new, present)
    owned = [(entry, (paths & present) - changed) for entry, paths in _sets(entries)]
    mine = (manager, UPDATE, subresource)
    previous = next((paths for entry, paths in owned if _entry_key(entry) == mine), set())
    return _rebuild(owned, mine, previous | changed, api_version=api_version, now=now)


# --------------------------------------------------------------------------- Apply


def _merge(live: Any, config: Any, shape: Shape) -> Any:
    """The apply configuration merged into the live value (maps and granular lists merge)."""
    if isinstance(config, dict) and isinstance(live, dict):
        out = dict(live)
        for key, value in config.items():
            if value is None:
                continue
            out[key] = _merge(live.get(key, fieldpaths.MISSING), value, shape.field(key))
        return out
    if isinstance(config, list) and isinstance(live, list):
        kind, _ = shape.list_type()
        if kind != "atomic" and fieldpaths.list_elements(config, shape) is not None:
            live_elements = fieldpaths.list_elements(live, shape)
            if live_elements is not None:
                return _merge_list(live, live_elements, config, shape)
    return _without_nulls(copy.deepcopy(config))


def _merge_list(
    live: list[Any],
    live_elements: list[tuple[fieldpaths.Element, Any]],
    config: list[Any],
    shape: Shape,
) -> list[Any]:
    out = list(live)
    positions = {element: index for index, (element, _) in enumerate(live_elements)}
    for element, item in fieldpaths.list_elements(config, shape) or ():
        if element in positions:
            index = positions[element]
            out[index] = _merge(out[index], item, shape.item())
        else:
            positions[element] = len(out)
            out.append(_without_nulls(copy.deepcopy(item)))
    return out


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _differs(live: dict[str, Any], merged: dict[str, Any], path: Path) -> bool:
    was, now = fieldpaths.get(live, path), fieldpaths.get(merged, path)
    if isinstance(was, dict) and was and isinstance(now, dict) and now:
        return False  # a map or list item: only its existence is owned
    return bool(was != now)


def _manager_text(entry: dict[str, Any]) -> str:
    """How Kubernetes names a conflicting manager (``printManager``)."""
    text = f'"{entry.get("manager", "")}"'
    if entry.get("subresource"):
        text += f' with subresource "{entry["subresource"]}"'
    text += f" using {entry.get('apiVersion', '')}"
    if entry.get("operation") == UPDATE and entry.get("time"):
        text += f" at {entry['time']}"
    return text


def conflict_error(conflicts: list[tuple[dict[str, Any], Path]]) -> errors.ApiError:
    """409 Conflict worded like kube-apiserver, one ``FieldManagerConflict`` cause per field."""
    causes = [
        StatusCause(
            "FieldManagerConflict",
            f"conflict with {_manager_text(entry)}",
            fieldpaths.render(path),
        )
        for entry, path in conflicts
    ]
    count = len(conflicts)
    if count == 1:
        entry, path = conflicts[0]
        detail = f"conflict with {_manager_text(entry)}: {fieldpaths.render(path)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(_manager_text(entry), []).append(fieldpaths.render(path))
        lines: list[str] = []
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {manager}:")
            lines.extend(f"- {p}" for p in by_manager[manager])
        detail = "\n".join(lines)
    plural = "" if count == 1 else "s"
    return errors.ApiError(
        409, "Conflict", f"Apply failed with {count} conflict{plural}: {detail}", causes=causes
    )


def apply(
    entries: list[dict[str, Any]],
    live: dict[str, Any],
    config: dict[str, Any],
    *,
    shape: Shape,
    manager: str,
    subresource: str,
    force: bool,
    api_version: str,
    now: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(object, managed fields) after ``manager`` applies ``config`` to ``live`` (409 on
    conflict)."""
    mine = (manager, APPLY, subresource)
    config = _without_nulls(config)
    wanted = fieldpaths.applied(config, shape)
    merged: dict[str, Any] = _merge(live, config, shape)
    owned = _sets(entries)
    conflicts = [
        (entry, path)
        for entry, paths in owned
        if _entry_key(entry) != mine
        for path in sorted(paths & wanted)
        if _differs(live, merged, path)
    ]
    if conflicts and not force:
        raise conflict_error(conflicts)
    lost = {path for _, path in conflicts}
    owned = [
        (entry, paths if _entry_key(entry) == mine else paths - lost) for entry, paths in owned
    ]
    previous = next((paths for entry, paths in owned if _entry_key(entry) == mine), set())
    others: set[Path] = set()
    for entry, paths in owned:
        if _entry_key(entry) != mine:
            others |= paths
    kept = others | wanted
    for path in sorted(previous - wanted, key=len, reverse=True):
        if path in others or any(_under(o, path) for o in kept):
            continue
        fieldpaths.remove(merged, path)
        parent = path[:-1]
        # A map or list emptied by the removal goes too, unless someone owns it.
        while parent and fieldpaths.get(merged, parent) in ({}, []) and parent not in kept:
            fieldpaths.remove(merged, parent)
            parent = parent[:-1]
    present = fieldpaths.nodes(merged, shape)
    owned = [(entry, paths & present) for entry, paths in owned]
    return merged, _rebuild(owned, mine, wanted, api_version=api_version, now=now)


def _under(path: Path, ancestor: Path) -> bool:
    """Whether ``path`` lies strictly below ``ancestor``."""
    return len(path) > len(ancestor) and path[: len(ancestor)] == ancestor
