"use strict";
(function () {
  // Sortable tables: click a header with class "sortable"; cells carry data-v (number) or text.
  function key(cell) {
    var v = cell ? cell.getAttribute("data-v") : null;
    if (v !== null && v !== "") { return { num: true, v: parseFloat(v) }; }
    return { num: false, v: cell ? cell.textContent.trim().toLowerCase() : "" };
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th.sortable").forEach(function (th) {
      th.addEventListener("click", function () {
        var col = th.hasAttribute("data-col") ? parseInt(th.getAttribute("data-col"), 10)  // under a colspan header
                                                : Array.prototype.indexOf.call(th.parentNode.children, th);
        var first = th.classList.contains("num") ? "desc" : "asc";  // numbers: highest first
        var dir = th.getAttribute("data-dir");
        var asc = dir ? dir !== "asc" : first === "asc";
        th.setAttribute("data-dir", asc ? "asc" : "desc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (x.num && y.num) { return asc ? x.v - y.v : y.v - x.v; }
          if (x.num !== y.num) { return x.num ? -1 : 1; }
          return asc ? (x.v < y.v ? -1 : x.v > y.v ? 1 : 0) : (x.v < y.v ? 1 : x.v > y.v ? -1 : 0);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  // Sample browser filters (run, task, status); rows carry data-run, data-task, data-state.
  var fRun = document.getElementById("f-run"), fTask = document.getElementById("f-task");
  var fState = document.getElementById("f-state"), counter = document.getElementById("f-count");
  function filterSamples() {
    var shown = 0;
    document.querySelectorAll("#samples tbody tr").forEach(function (tr) {
      var ok = (!fRun.value || tr.getAttribute("data-run") === fRun.value) &&
               (!fTask.value || tr.getAttribute("data-task") === fTask.value) &&
               (!fState.value || (" " + tr.getAttribute("data-state") + " ").indexOf(" " + fState.value + " ") >= 0);
      tr.classList.toggle("hidden", !ok);
      if (ok) { shown += 1; }
    });
    if (counter) { counter.textContent = String(shown); }
  }
  [fRun, fTask, fState].forEach(function (el) { if (el) { el.addEventListener("change", filterSamples); } });
  if (fRun && fTask && fState) { filterSamples(); }

  // Paired comparison: show the pair picked in the selector.
  var cmp = document.getElementById("cmp-pick");
  function showPair() {
    document.querySelectorAll(".cmp-pair").forEach(function (div) {
      div.classList.toggle("hidden", div.id !== cmp.value);
    });
  }
  if (cmp) { cmp.addEventListener("change", showPair); showPair(); }

  document.documentElement.setAttribute("data-ready", "1");
})();
