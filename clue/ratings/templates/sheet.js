"use strict";
(function () {
  // The rating sheet: collect the radio buttons and notes, download them as <sheet>.ratings.json, load a saved file back.
  var meta = JSON.parse(document.getElementById("sheet-meta").textContent);
  var boxes = Array.prototype.slice.call(document.querySelectorAll(".output[data-item]"));
  var status = document.getElementById("status");

  function collect() {
    return boxes.map(function (box) {
      var scores = {};
      meta.axes.forEach(function (axis) {
        var checked = box.querySelector("input[data-axis=\"" + axis + "\"]:checked");
        scores[axis] = checked ? parseInt(checked.value, 10) : null;
      });
      return { item: box.getAttribute("data-item"), output: box.getAttribute("data-output"), scores: scores,
               notes: box.querySelector("textarea[data-notes]").value };
    });
  }

  function progress() {
    var done = 0;
    boxes.forEach(function (box) {
      var full = meta.axes.every(function (axis) { return box.querySelector("input[data-axis=\"" + axis + "\"]:checked"); });
      box.classList.toggle("done", full);
      if (full) { done += 1; }
    });
    document.getElementById("progress").textContent = done + " of " + meta.units + " outputs fully rated";
  }

  function save() {
    var body = { format: meta.format, sheet: meta.sheet, saved: new Date().toISOString(), ratings: collect() };
    var blob = new Blob([JSON.stringify(body, null, 1)], { type: "application/json" });
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = meta.sheet + ".ratings.json";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 2000);
    status.textContent = "saved " + a.download + " (" + new Date().toLocaleTimeString() + ")";
  }

  function load(text) {
    var data = JSON.parse(text);
    if (data.sheet !== meta.sheet) { throw new Error("that file belongs to sheet " + data.sheet + ", not " + meta.sheet); }
    var byKey = {};
    boxes.forEach(function (box) { byKey[box.getAttribute("data-item") + "|" + box.getAttribute("data-output")] = box; });
    (data.ratings || []).forEach(function (r) {
      var box = byKey[r.item + "|" + r.output];
      if (!box) { return; }
      meta.axes.forEach(function (axis) {
        var v = r.scores ? r.scores[axis] : null;
        box.querySelectorAll("input[data-axis=\"" + axis + "\"]").forEach(function (input) {
          input.checked = v !== null && v !== undefined && String(v) === input.value;
        });
      });
      box.querySelector("textarea[data-notes]").value = r.notes || "";
    });
    progress();
  }

  document.getElementById("save").addEventListener("click", save);
  document.getElementById("load").addEventListener("change", function (ev) {
    var file = ev.target.files && ev.target.files[0];
    if (!file) { return; }
    var reader = new FileReader();
    reader.onload = function () {
      try { load(String(reader.result)); status.textContent = "loaded " + file.name; }
      catch (e) { status.textContent = "could not load " + file.name + ": " + e.message; }
    };
    reader.readAsText(file);
  });
  document.getElementById("sheet").addEventListener("change", progress);
  progress();
  document.documentElement.setAttribute("data-ready", "1");
})();
