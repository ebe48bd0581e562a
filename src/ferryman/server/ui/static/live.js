// Live pages without a reload, and times that tick without a fetch.
//
// Updates: the server pushes the region's HTML as server-sent events (data-stream-url); where a
// stream cannot be kept open — no EventSource, a refused or buffered stream, repeated drops — the
// script polls the region's fragment (data-live-url) instead. The HTML is what the server escaped;
// nothing from it is evaluated. The region is NOT an aria-live region (screen readers would read it
// all again on every update): after a swap, elements whose data-announce text is new are said
// once by #announcer. Keyboard focus moves to the equivalent element of the new HTML. An update
// that arrives while the user is typing in a field of the region, or left text in one, waits.
//
// Times: the server prints <time datetime="ISO" title="absolute">absolute</time>; every second
// this script rewrites those marked data-countdown ("in 4 min 10 s") and data-relative
// ("3 min ago") from the browser's clock. No request, and nothing in status changes for it.
//
// Connection: #connection says when the last update came, or "Connection lost, retrying…".
(function () {
  "use strict";

  // ------------------------------------------------------------------ times
  // 250 → "4 min 10 s", 7260 → "2 h 1 min": the two largest units, like a person says it.
  function span(seconds) {
    var units = [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]];
    for (var i = 0; i < units.length - 1; i++) {
      if (seconds >= units[i][0]) {
        var text = Math.floor(seconds / units[i][0]) + " " + units[i][1];
        var rest = Math.floor((seconds % units[i][0]) / units[i + 1][0]);
        return rest ? text + " " + rest + " " + units[i + 1][1] : text;
      }
    }
    return seconds + " s";
  }

  function relative(element, now) {
    var at = Date.parse(element.getAttribute("datetime") || "");
    if (isNaN(at)) { return; }
    var seconds = Math.round((at - now) / 1000);
    var text;
    if (element.hasAttribute("data-countdown")) {
      text = seconds > 0 ? "in " + span(seconds) : "any moment now";
    } else if (seconds > 0) {
      text = "in " + span(seconds);
    } else {
      text = -seconds < 2 ? "just now" : span(-seconds) + " ago";
    }
    if (element.textContent !== text) { element.textContent = text; }
  }

  function tick() {
    var now = Date.now();
    var found = document.querySelectorAll("time[data-countdown], time[data-relative]");
    for (var i = 0; i < found.length; i++) { relative(found[i], now); }
  }

  // ------------------------------------------------------------------ comment counters
  function count(field) {
    var target = document.getElementById(field.getAttribute("data-counter") || "");
    var shown = target && target.querySelector(".count");
    if (shown) { shown.textContent = String(field.value.length); }
  }

  document.addEventListener("input", function (event) {
    if (event.target && event.target.hasAttribute && event.target.hasAttribute("data-counter")) {
      count(event.target);
    }
  });

  window.ferryman = { span: span, tick: tick };
  tick();
  window.setInterval(tick, 1000);

  var region = document.getElementById("live");
  if (!region) { return; }
  var fragmentUrl = region.getAttribute("data-live-url");
  var streamUrl = region.getAttribute("data-stream-url");
  var every = parseInt(region.getAttribute("data-interval") || "2000", 10);
  var announcer = document.getElementById("announcer");
  var connection = document.getElementById("connection");
  var last = null;
  var pending = null;
  var contact = Date.now();  // when the server last answered (an event or a poll)

  // ------------------------------------------------------------------ connection line
  function connected() {
    contact = Date.now();
    if (!connection) { return; }
    connection.setAttribute("data-state", "live");
    connection.querySelector(".connection-text").textContent = "Live updates on.";
    var age = connection.querySelector(".connection-age");
    age.hidden = false;
    age.querySelector("time").setAttribute("datetime", new Date().toISOString());
    tick();
  }

  function lost() {
    if (!connection) { return; }
    connection.setAttribute("data-state", "lost");
    connection.querySelector(".connection-text").textContent = "Connection lost, retrying…";
  }

  // ------------------------------------------------------------------ announcements
  function said(root) {
    var found = {};
    var marked = root.querySelectorAll("[data-announce]");
    for (var i = 0; i < marked.length; i++) {
      found[marked[i].getAttribute("data-key") || String(i)] = marked[i].getAttribute("data-announce");
    }
    return found;
  }

  function announce(before, after) {
    if (!announcer) { return; }
    var news = [];
    for (var key in after) {
      if (Object.prototype.hasOwnProperty.call(after, key) && after[key] && before[key] !== after[key]) {
        news.push(after[key]);
      }
    }
    if (news.length) { announcer.textContent = news.join(". "); }
  }

  // ------------------------------------------------------------------ focus
  function signature(element) {
    if (element.id) { return "#" + element.id; }
    return [element.tagName, element.getAttribute("href") || "", element.getAttribute("name") || "",
            element.getAttribute("value") || "", (element.textContent || "").trim()].join("|");
  }

  function refocus(wanted) {
    if (!wanted) { return; }
    if (wanted.charAt(0) === "#") {
      var byId = document.getElementById(wanted.slice(1));
      if (byId && region.contains(byId)) { byId.focus(); }
      return;
    }
    var candidates = region.querySelectorAll("a, button, summary, [tabindex], select, input");
    for (var i = 0; i < candidates.length; i++) {
      if (signature(candidates[i]) === wanted) { candidates[i].focus(); return; }
    }
  }

  function busy() {
    var active = document.activeElement;
    if (active && region.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) {
      return true;
    }
    var fields = region.querySelectorAll("textarea, input:not([type=hidden]):not([type=checkbox])");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value) { return true; }
    }
    var open = region.querySelectorAll("details.reject[open]");
    return open.length > 0;
  }

  function show(html) {
    if (html === null) { return; }
    connected();
    if (html === last) { return; }
    if (busy()) { pending = html; return; }
    pending = null;
    last = html;
    var active = document.activeElement;
    var wanted = active && active !== document.body && region.contains(active) ? signature(active) : "";
    var before = said(region);
    region.innerHTML = html;
    announce(before, said(region));
    refocus(wanted);
    tick();
  }

  window.setInterval(function () { if (pending !== null) { show(pending); } }, 1000);

  function poll() {
    fetch(fragmentUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401) { window.location.assign("/signin"); return null; }
        if (!response.ok) { lost(); return null; }
        return response.text();
      })
      .then(show)
      .catch(lost)  // the server is restarting or gone: try again on the next tick
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
      // A stream the server ends on schedule (MAX_STREAM) reconnects at once: say "lost" only
      // when no event came back within a few seconds.
      window.setTimeout(function () { if (contact < now) { lost(); } }, 3000);
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

  // The result of the action that brought us here ("You approved 6.2.0 into prod."), said once.
  var flash = document.getElementById("flash");
  if (flash && flash.textContent.trim() && announcer) {
    window.setTimeout(function () { announcer.textContent = flash.textContent.trim(); }, 300);
  }
  connected();
  if (streamUrl && window.EventSource) { stream(); } else { startPolling(); }
})();
