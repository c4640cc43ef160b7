"use strict";
(function () {
  // Kept light at load (a big report must be interactive within a second): one delegated listener per kind of
  // action, no per-row work until the reader acts; markup in <noscript class="lazy"> is rendered when needed.

  // Lazy markup: with scripting on, a <noscript> holds its markup as raw text (no DOM built); rendered in place.
  function render(root) {
    var list = root.matches && root.matches("noscript.lazy") ? [root] : root.querySelectorAll("noscript.lazy");
    Array.prototype.forEach.call(list, function (ns) {
      var t = document.createElement("template");
      t.innerHTML = ns.textContent;  // our own escaped markup: model text stays text
      ns.replaceWith(t.content);
    });
    if (root.classList) { root.classList.remove("lazy"); }
  }
  // opening a <details> renders what it holds (toggle does not bubble: caught on the way down)
  document.addEventListener("toggle", function (ev) {
    if (ev.target.open && ev.target.querySelector) { render(ev.target); }
  }, true);
  // printing renders everything
  window.addEventListener("beforeprint", function () { render(document); });

  // Sample rows beyond the first ones: their texts are rendered as they near the viewport.
  var lazyRows = document.querySelectorAll("#samples tr.lazy");
  if (lazyRows.length && "IntersectionObserver" in window) {
    var seen = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { seen.unobserve(e.target); render(e.target); }
      });
    }, { rootMargin: "1500px 0px" });
    Array.prototype.forEach.call(lazyRows, function (tr) { seen.observe(tr); });
  } else {
    Array.prototype.forEach.call(lazyRows, render);
  }

  // Sortable tables: click a header with class "sortable"; cells carry data-v (number) or text.
  function key(cell) {
    var v = cell ? cell.getAttribute("data-v") : null;
    if (v !== null && v !== "") { return { num: true, v: parseFloat(v) }; }
    return { num: false, v: cell ? cell.textContent.trim().toLowerCase() : "" };
  }
  function sortBy(table, th) {
    var col = th.hasAttribute("data-col") ? parseInt(th.getAttribute("data-col"), 10)  // under a colspan header
                                            : Array.prototype.indexOf.call(th.parentNode.children, th);
    var first = th.classList.contains("num") ? "desc" : "asc";  // numbers: highest first
    var dir = th.getAttribute("data-dir");
    var asc = dir ? dir !== "asc" : first === "asc";
    th.setAttribute("data-dir", asc ? "asc" : "desc");
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (r, i) { return { r: r, k: key(r.cells[col]), i: i }; });
    rows.sort(function (a, b) {
      var x = a.k, y = b.k;
      if (x.num && y.num) { return (asc ? x.v - y.v : y.v - x.v) || a.i - b.i; }
      if (x.num !== y.num) { return x.num ? -1 : 1; }
      return (asc ? (x.v < y.v ? -1 : x.v > y.v ? 1 : 0) : (x.v < y.v ? 1 : x.v > y.v ? -1 : 0)) || a.i - b.i;
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (x) { frag.appendChild(x.r); });
    body.appendChild(frag);
  }
  document.addEventListener("click", function (ev) {
    var th = ev.target.closest ? ev.target.closest("th.sortable") : null;
    var table = th ? th.closest("table.sortable") : null;
    if (table) { sortBy(table, th); }
  });

  // Sample browser filters (run, task, status); rows carry data-run, data-task, data-state.
  var fRun = document.getElementById("f-run"), fTask = document.getElementById("f-task");
  var fState = document.getElementById("f-state"), counter = document.getElementById("f-count");
  function filterSamples() {
    var shown = 0;
    Array.prototype.forEach.call(document.getElementById("samples").tBodies[0].rows, function (tr) {
      var ok = (!fRun.value || tr.getAttribute("data-run") === fRun.value) &&
               (!fTask.value || tr.getAttribute("data-task") === fTask.value) &&
               (!fState.value || (" " + tr.getAttribute("data-state") + " ").indexOf(" " + fState.value + " ") >= 0);
      tr.classList.toggle("hidden", !ok);
      if (ok) { shown += 1; }
    });
    if (counter) { counter.textContent = String(shown); }
  }
  if (fRun && fTask && fState && document.getElementById("samples")) {
    [fRun, fTask, fState].forEach(function (el) { el.addEventListener("change", filterSamples); });
    if (fRun.value || fTask.value || fState.value) { filterSamples(); }  // choices the browser restored (reload, back)
  }

  // Paired comparison: show the pair picked in the selector (rendering it the first time).
  var cmp = document.getElementById("cmp-pick");
  function showPair() {
    Array.prototype.forEach.call(document.querySelectorAll(".cmp-pair"), function (div) {
      var on = div.id === cmp.value;
      if (on) { render(div); }
      div.classList.toggle("hidden", !on);
    });
  }
  if (cmp) { cmp.addEventListener("change", showPair); showPair(); }

  document.documentElement.setAttribute("data-ready", "1");
})();
