// Live updates without a reload: poll the server-rendered fragment of #live and swap it in.
// The fragment is HTML the server escaped; nothing from it is evaluated. Polling pauses while
// the user is writing a comment inside the region, so typing is never thrown away.
(function () {
  "use strict";
  var region = document.getElementById("live");
  if (!region) { return; }
  var url = region.getAttribute("data-live-url");
  var every = parseInt(region.getAttribute("data-interval") || "2000", 10);
  var last = null;

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

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401) { window.location.assign("/signin"); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== last && !busy()) {
          last = html;
          region.innerHTML = html;
        }
      })
      .catch(function () { /* the server is restarting: try again on the next tick */ })
      .then(function () { window.setTimeout(poll, every); });
  }

  window.setTimeout(poll, every);
})();
