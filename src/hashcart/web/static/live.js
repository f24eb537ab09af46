// The merchant's live view: redraw the chart and refresh the numbers every few seconds.
// Loaded from /static (the CSP allows no inline script); reads its URLs from the image.
(function () {
  "use strict";
  var chart = document.getElementById("live-chart");
  if (!chart) {
    return;
  }
  var svgUrl = chart.getAttribute("data-src");
  // On a phone the <picture>'s source draws the chart at the phone's width; redraws
  // follow whichever of the two the browser chose.
  var phone = document.getElementById("live-chart-phone");
  var phoneScreen = window.matchMedia("(max-width: 640px)");
  var jsonUrl = chart.getAttribute("data-json");
  var every = Math.max(1, parseInt(chart.getAttribute("data-every"), 10) || 5) * 1000;
  var status = document.getElementById("live-status");
  var busy = false;

  // A new query string each time, so neither the browser nor a proxy answers from a cache.
  function fresh(url) {
    return url + (url.indexOf("?") < 0 ? "?" : "&") + "t=" + Date.now();
  }

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function redrawChart() {
    // Load the next picture off-screen and swap it in once it is complete: no flicker.
    var onPhone = phone && phoneScreen.matches;
    var next = new Image();
    next.onload = function () {
      if (onPhone) {
        phone.srcset = next.src;
      } else {
        chart.src = next.src;
      }
    };
    next.src = fresh(onPhone ? phone.getAttribute("data-src") : svgUrl);
  }

  function refreshNumbers() {
    return fetch(fresh(jsonUrl), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (numbers) {
        var fields = document.querySelectorAll("[data-live-field]");
        for (var i = 0; i < fields.length; i += 1) {
          var value = numbers[fields[i].getAttribute("data-live-field")];
          if (value !== undefined && value !== null) {
            fields[i].textContent = String(value); // text, never HTML
          }
        }
        // In UTC, like the chart and the rest of the console ("Times are UTC").
        say("Updated " + new Date().toISOString().slice(11, 19) + " UTC.");
      })
      .catch(function () {
        say("Could not refresh just now; trying again in a few seconds.");
      });
  }

  function tick() {
    if (document.hidden || busy) {
      return; // nobody is looking, or the last refresh is still on its way
    }
    busy = true;
    redrawChart();
    refreshNumbers().then(function () {
      busy = false;
    });
  }

  setInterval(tick, every);
  document.addEventListener("visibilitychange", tick);
})();
