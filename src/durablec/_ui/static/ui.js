// The dashboard's little script: step details, collapsible groups, the actions (confirmed,
// CSRF-protected POSTs) and polling of an unfinished run. Everything shown is set as text, never
// as HTML.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf"]').content;
  function send(path, body) {
    return fetch(path, {
      method: "POST", headers: {"content-type": "application/json", "x-csrf-token": csrf},
      body: JSON.stringify(body || {}), credentials: "same-origin"
    }).then(function (r) { return r.json(); });
  }
  document.querySelectorAll(".waterfall .row.step").forEach(function (row) {
    row.addEventListener("click", function () {
      var detail = document.getElementById("step-" + row.dataset.step);
      detail.hidden = !detail.hidden;
      row.classList.toggle("selected", !detail.hidden);
    });
  });
  document.querySelectorAll(".waterfall .group-head").forEach(function (head) {
    head.addEventListener("click", function () {
      var open = head.getAttribute("aria-expanded") !== "true";
      head.setAttribute("aria-expanded", String(open));
      head.nextElementSibling.hidden = !open;
      head.querySelector(".toggle").textContent = open ? "\u25be" : "\u25b8";
    });
  });
  document.querySelectorAll("button.redrive").forEach(function (b) {
    b.addEventListener("click", function () {
      var queue = b.dataset.queue, out = b.parentNode.querySelector(".redrive-result");
      if (!confirm("redrive dead-letter queue " + queue + ": make all its runs pending again?")) return;
      send("/api/dead-letters/redrive", {queue: queue}).then(function (j) {
        out.textContent = j.ok ? j.count + " runs re-queued" : "redrive refused: " + j.error;
        if (j.ok) b.disabled = true;
      });
    });
  });
  var header = document.querySelector("header.run");
  if (!header) return;
  var runId = header.dataset.run;
  var out = document.getElementById("action-result");
  document.querySelectorAll("button.fork").forEach(function (b) {
    b.addEventListener("click", function (e) {
      e.stopPropagation();
      var key = b.dataset.key;
      if (!confirm("fork run " + runId + " from step " + key + "? A new run replays the steps before it and runs " + key + " live.")) return;
      send("/api/runs/" + encodeURIComponent(runId) + "/fork", {key: key}).then(function (j) {
        out.textContent = "";
        if (!j.ok) { out.textContent = "fork refused: " + j.error; return; }
        out.append("forked from step " + key + ": new run ");
        var link = document.createElement("a");
        link.href = "/runs/" + encodeURIComponent(j.run_id);
        link.id = "forked-run";
        link.textContent = j.run_id;
        out.append(link, " (" + j.status + ")");
      });
    });
  });
  function post(action, body) {
    return send("/api/runs/" + encodeURIComponent(runId) + "/" + action, body).then(function (j) {
      out.textContent = j.ok ? action + ": done, run is " + j.status : action + " refused: " + j.error;
      if (j.ok) { setStatus(j.status); poll(); }
    });
  }
  document.querySelectorAll("button[data-action]").forEach(function (b) {
    b.addEventListener("click", function () {
      if (confirm(b.dataset.action + " run " + runId + "?")) post(b.dataset.action);
    });
  });
  document.getElementById("event-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target;
    if (confirm("send event " + f.name.value + " to run " + runId + "?"))
      post("event", {name: f.name.value, payload: f.payload.value || "null"});
  });
  var statusEl = document.getElementById("status");
  function setStatus(s) {
    if (statusEl.textContent !== s) { statusEl.textContent = s; statusEl.className = "badge st-" + s; }
    header.dataset.status = s;
  }
  var terminal = ["completed", "failed", "dead_lettered", "cancelled"];
  var timer = null;
  function poll() {
    if (timer) return;
    timer = setInterval(function () {
      fetch("/api/runs/" + encodeURIComponent(runId), {credentials: "same-origin"})
        .then(function (r) { return r.json(); }).then(function (j) {
          if (j.status !== header.dataset.status) {
            setStatus(j.status);
            if (terminal.indexOf(j.status) >= 0) { clearInterval(timer); timer = null; location.reload(); return; }
          }
          if (String(j.updated_at) !== header.dataset.updated) {
            // The run moved: redraw the page if it recorded new step attempts, an execution's end
            // or log records.
            header.dataset.updated = String(j.updated_at);
            fetch("/api/runs/" + encodeURIComponent(runId) + "/timeline", {credentials: "same-origin"})
              .then(function (r) { return r.json(); }).then(function (t) {
                var rows = t.steps.length + t.executions.length + t.logs.length;
                if (String(rows) !== header.dataset.rows) location.reload();
              });
          }
        });
    }, 1000);
  }
  if (terminal.indexOf(header.dataset.status) < 0) poll();
})();
