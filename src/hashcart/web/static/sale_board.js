// The live claim board: the sale's numbers and claims' stream follow server-sent events
// (/merchant/sales/<id>/events). Loaded from /static (the CSP allows no inline script).
// Everything is written as text, never as HTML: handles are strangers' words.
(function () {
  "use strict";
  var board = document.getElementById("sale-board");
  if (!board || !window.EventSource) {
    return;
  }
  var stream = document.getElementById("claim-stream");
  var status = document.getElementById("board-status");
  var keep = Math.max(1, parseInt(board.getAttribute("data-lines"), 10) || 50);
  var said = "";

  function say(text) {
    if (status && text !== said) {
      said = text;
      status.textContent = text;
    }
  }

  function piece(tag, className, text) {
    var element = document.createElement(tag);
    if (className) {
      element.className = className;
    }
    element.textContent = text;
    return element;
  }

  function addLine(line) {
    if (stream.querySelector('[data-claim-line="' + String(line.id) + '"]')) {
      return; // sent again after a reconnection
    }
    var empty = stream.querySelector(".empty");
    if (empty) {
      empty.remove();
    }
    var item = document.createElement("li");
    item.className = "claim-line kind-" + String(line.kind).replace(/[^a-z]/g, "");
    item.setAttribute("data-claim-line", String(line.id));
    var time = piece("time", "", line.time);
    time.setAttribute("datetime", line.datetime);
    item.appendChild(time);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(piece("span", "who", line.who));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(piece("span", "what", line.what));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(piece("strong", "words", line.words));
    stream.insertBefore(item, stream.firstChild);
    while (stream.children.length > keep) {
      stream.removeChild(stream.lastChild);
    }
  }

  function setFields(fields) {
    var found = board.ownerDocument.querySelectorAll("[data-board-field]");
    for (var i = 0; i < found.length; i += 1) {
      var value = fields[found[i].getAttribute("data-board-field")];
      if (typeof value === "string" && found[i].textContent !== value) {
        found[i].textContent = value;
      }
    }
  }

  var source = new EventSource(board.getAttribute("data-events"));
  source.addEventListener("open", function () {
    say("Live: numbers and claims update as claims settle. Newest first; times are the posts' own (UTC).");
  });
  source.addEventListener("error", function () {
    say("Connection lost; trying again. Reload for the latest.");
  });
  source.addEventListener("claim", function (event) {
    addLine(JSON.parse(event.data));
  });
  source.addEventListener("board", function (event) {
    setFields(JSON.parse(event.data));
  });
  window.addEventListener("pagehide", function () {
    source.close();
  });
})();
