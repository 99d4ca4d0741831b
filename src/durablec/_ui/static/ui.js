// The dashboard's little script: step details, the actions (confirmed, CSRF-protected POSTs) and
// polling of an unfinished run. Everything shown is set as text, never as HTML.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf"]').content;
  document.querySelectorAll(".waterfall .row").forEach(function (row) {
    row.addEventListener("click", function () {
      var detail = document.getElementById("step-" + row.dataset.step);
      detail.hidden = !detail.hidden;
    });
  });
  var header = document.querySelector("header.run");
  if (!header) return;
  var runId = header.dataset.run;
  var out = document.getElementById("action-result");
  function post(action, body) {
    return fetch("/api/runs/" + encodeURIComponent(runId) + "/" + action, {
      method: "POST", headers: {"content-type": "application/json", "x-csrf-token": csrf},
      body: JSON.stringify(body || {}), credentials: "same-origin"
    }).then(function (r) { return r.json(); }).then(function (j) {
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
            // The run moved: redraw the waterfall if it recorded new step attempts.
            header.dataset.updated = String(j.updated_at);
            fetch("/api/runs/" + encodeURIComponent(runId) + "/timeline", {credentials: "same-origin"})
              .then(function (r) { return r.json(); }).then(function (t) {
                if (String(t.steps.length) !== header.dataset.steps) location.reload();
              });
          }
        });
    }, 1000);
  }
  if (terminal.indexOf(header.dataset.status) < 0) poll();
})();
