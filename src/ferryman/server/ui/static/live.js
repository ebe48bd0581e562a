// Live updates without a reload. The server pushes the region's HTML as server-sent events
// (data-stream-url); where a stream cannot be kept open — no EventSource, a refused or buffered
// stream, repeated drops — the script polls the region's fragment (data-live-url) instead.
// The HTML is what the server escaped; nothing from it is evaluated. An update that arrives
// while the user is writing a comment inside the region waits until the field is left empty
// and unfocused, so typing is never thrown away.
(function () {
  "use strict";
  var region = document.getElementById("live");
  if (!region) { return; }
  var fragmentUrl = region.getAttribute("data-live-url");
  var streamUrl = region.getAttribute("data-stream-url");
  var every = parseInt(region.getAttribute("data-interval") || "2000", 10);
  var last = null;
  var pending = null;

  function busy() {
    var active = document.activeElement;
    if (active && region.contains(active) && /^(TEXTAREA|INPUT|BUTTON)$/.test(active.tagName)) {
      return true;
    }
    var fields = region.querySelectorAll("textarea");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value) { return true; }
    }
    return false;
  }

  function show(html) {
    if (html === null || html === last) { return; }
    if (busy()) { pending = html; return; }
    pending = null;
    last = html;
    region.innerHTML = html;
  }

  window.setInterval(function () { if (pending !== null) { show(pending); } }, 1000);

  function poll() {
    fetch(fragmentUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401) { window.location.assign("/signin"); return null; }
        return response.ok ? response.text() : null;
      })
      .then(show)
      .catch(function () { /* the server is restarting: try again on the next tick */ })
      .then(function () { window.setTimeout(poll, every); });
  }

  function startPolling() { window.setTimeout(poll, every); }

  function stream() {
    var source = new EventSource(streamUrl);
    var received = false;
    var drops = [];
    // A proxy that buffers the stream delivers nothing: the first event comes at once otherwise.
    var silent = window.setTimeout(function () {
      if (!received) { source.close(); startPolling(); }
    }, 10000);
    source.addEventListener("update", function (event) { received = true; show(event.data); });
    source.addEventListener("signin", function () {
      source.close();
      window.location.assign("/signin");
    });
    source.addEventListener("reload", function () { source.close(); window.location.reload(); });
    source.onerror = function () {
      var now = Date.now();
      drops = drops.filter(function (at) { return now - at < 60000; });
      drops.push(now);
      // Refused (401, 503, ...: the browser gives up) or dropping again and again: poll instead.
      if (source.readyState === EventSource.CLOSED || !received || drops.length >= 3) {
        source.close();
        window.clearTimeout(silent);
        startPolling();
      }
    };
  }

  if (streamUrl && window.EventSource) { stream(); } else { startPolling(); }
})();
