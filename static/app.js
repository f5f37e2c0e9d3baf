// adpilot's own small script. Everything works without it; it only saves clicks.
(function () {
  "use strict";
  function init(root) {
    root.querySelectorAll("select.autosubmit").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      el.addEventListener("change", function () { if (el.form) el.form.requestSubmit(); });
    });
    root.querySelectorAll("[data-copy]").forEach(function (btn) {
      if (btn.dataset.bound) return;
      btn.dataset.bound = "1";
      btn.addEventListener("click", function () {
        var target = document.getElementById(btn.dataset.copy);
        if (!target || !navigator.clipboard) return;
        // Drafts on the create form are inputs (editable); saved copy is plain text.
        var text = "value" in target ? target.value : target.innerText;
        navigator.clipboard.writeText(text).then(function () {
          var old = btn.textContent;
          btn.textContent = "Copied";
          setTimeout(function () { btn.textContent = old; }, 1500);
        });
      });
    });
    // "Use this draft": put the drafted rule in the editor (without JS the button posts and
    // the server does the same); the editor's own live check then runs. Nothing is saved.
    root.querySelectorAll("[data-fill]").forEach(function (btn) {
      if (btn.dataset.bound) return;
      btn.dataset.bound = "1";
      btn.addEventListener("click", function (ev) {
        var target = document.getElementById(btn.dataset.fill);
        var source = document.getElementById(btn.dataset.fillFrom);
        if (!target || !source) return;
        ev.preventDefault();
        target.value = source.value;
        target.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
        target.focus();
      });
    });
    // Date ranges: a preset chosen from the list is what the page shows, so the old From/To
    // the form still holds are left out; typing a date means "Custom dates".
    root.querySelectorAll("form select[name=range]").forEach(function (sel) {
      if (sel.dataset.bound) return;
      sel.dataset.bound = "1";
      var form = sel.form;
      if (!form) return;
      var dates = form.querySelectorAll("input[name=from], input[name=to]");
      sel.addEventListener("change", function () {
        dates.forEach(function (d) { d.disabled = sel.value !== "custom"; });
      });
      dates.forEach(function (d) {
        d.addEventListener("input", function () { sel.value = "custom"; });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (e) { init(e.target); });
})();
