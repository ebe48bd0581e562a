"""Watch details over raw HTTP: selector transitions, bookmarks, initial events, in-stream 410."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

from ferryman.embedded.apiserver.server import EmbeddedApiServer

from .conftest import Http

CMS = "/api/v1/namespaces/default/configmaps"


def _stream(
    server: EmbeddedApiServer, query: str, accept: str = "application/json"
) -> list[dict[str, Any]]:
    req = urllib.request.Request(  # noqa: S310 - loopback server under test
        f"{server.url}{CMS}?watch=true&{query}",
        headers={"Authorization": f"Bearer {server.token}", "Accept": accept},
    )
    with urllib.request.urlopen(req, timeout=10, context=server.ssl_context()) as resp:  # noqa: S310
        return [json.loads(line) for line in resp.read().splitlines() if line.strip()]


#: Every namespace holds the cluster's CA ConfigMap, as on a real cluster; these tests skip it.
NOT_ROOT_CA = "fieldSelector=metadata.name%21%3Dkube-root-ca.crt"


def _in_background(fn: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    return thread, out


def test_selector_transitions(apiserver: EmbeddedApiServer, http: Http) -> None:
    """An object that starts matching arrives as ADDED, one that stops matching as DELETED."""
    created = http.post(CMS, {"metadata": {"name": "c", "labels": {"tier": "a"}}}).body
    rv = created["metadata"]["resourceVersion"]
    http.patch(f"{CMS}/c", {"metadata": {"labels": {"tier": "b"}}})
    http.patch(f"{CMS}/c", {"metadata": {"labels": {"tier": "a"}}})
    events = _stream(apiserver, f"resourceVersion={rv}&labelSelector=tier%3Db&timeoutSeconds=1")
    assert [e["type"] for e in events] == ["ADDED", "DELETED"]


def test_initial_events_and_bookmarks(apiserver: EmbeddedApiServer, http: Http) -> None:
    """No RV gives synthetic ADDED; sendInitialEvents ends with the initial-events-end bookmark."""
    http.post(CMS, {"metadata": {"name": "c"}})
    plain = _stream(apiserver, f"{NOT_ROOT_CA}&timeoutSeconds=0.3")
    assert [e["type"] for e in plain] == ["ADDED"]
    initial = _stream(
        apiserver,
        f"{NOT_ROOT_CA}&sendInitialEvents=true&allowWatchBookmarks=true"
        "&resourceVersionMatch=NotOlderThan&timeoutSeconds=1.2",
    )
    assert initial[0]["type"] == "ADDED"
    assert initial[1]["type"] == "BOOKMARK"
    assert initial[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert all(e["type"] == "BOOKMARK" for e in initial[1:])
    assert len(initial) >= 3  # periodic bookmarks follow (interval 0.5 s in tests)


def test_watch_from_compacted_rv_is_in_stream_410(apiserver: EmbeddedApiServer, http: Http) -> None:
    """A watch from before the compacted window gets an ERROR event with a 410 Expired Status."""
    rv = http.post(CMS, {"metadata": {"name": "c"}}).body["metadata"]["resourceVersion"]
    http.patch(f"{CMS}/c", {"data": {"a": "b"}})
    apiserver.compact()
    events = _stream(apiserver, f"resourceVersion={int(rv) - 1}&timeoutSeconds=1")
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410
    assert events[0]["object"]["reason"] == "Expired"


def test_table_watch_sends_tables(apiserver: EmbeddedApiServer, http: Http) -> None:
    """Every event of a Table watch carries a Table."""
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    thread, out = _in_background(lambda: _stream(apiserver, "timeoutSeconds=1.5", accept))
    time.sleep(0.3)
    http.post(CMS, {"metadata": {"name": "c"}})
    http.delete(f"{CMS}/c")
    thread.join()
    events = out[0]
    assert {e["type"] for e in events} >= {"ADDED", "DELETED"}
    assert all(e["object"]["kind"] == "Table" for e in events)


def test_dropped_watches_end(apiserver: EmbeddedApiServer, http: Http) -> None:
    """drop_watches closes open streams at once."""
    thread, out = _in_background(lambda: _stream(apiserver, f"{NOT_ROOT_CA}&timeoutSeconds=30"))
    time.sleep(0.3)
    apiserver.drop_watches()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert out == [[]]
