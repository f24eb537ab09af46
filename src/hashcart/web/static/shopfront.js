// The shop front: while page 1 is open, say when new posts have arrived (it never reloads
// by itself, so nobody loses their place). Text only: nothing from the server becomes HTML.
(function () {
  "use strict";
  var bar = document.querySelector(".front-new[data-count-url]");
  if (!bar || !window.fetch) { return; }
  var seen = parseInt(bar.getAttribute("data-total"), 10) || 0;
  var text = bar.querySelector(".front-new-text");
  var url = bar.getAttribute("data-count-url");

  function check() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body || typeof body.total !== "number" || body.total <= seen) { return; }
        var fresh = body.total - seen;
        text.textContent = fresh === 1 ? "1 new post." : fresh + " new posts.";
        bar.hidden = false;
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  window.setInterval(check, 10000);
})();
