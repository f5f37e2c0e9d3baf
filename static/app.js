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
    // The rule helper: a word goes in at the cursor, a line (a snippet ending in a line
    // break) at the start of the next line. Without JS the button posts and the server adds
    // it at the end. The editor's live check then runs; nothing is saved.
    root.querySelectorAll("[data-insert]").forEach(function (btn) {
      if (btn.dataset.bound) return;
      btn.dataset.bound = "1";
      btn.addEventListener("click", function (ev) {
        var ta = document.getElementById(btn.dataset.insertInto);
        if (!ta || ta.readOnly || typeof ta.setRangeText !== "function") return;
        ev.preventDefault();
        var text = btn.dataset.insert, v = ta.value;
        var start = ta.selectionStart, end = ta.selectionEnd;
        if (text.slice(-1) === "\n") {
          // At the start of a line it goes right there; otherwise after the current line.
          var nl = v.indexOf("\n", end);
          if (end === 0 || v.charAt(end - 1) === "\n") { start = end; }
          else if (nl === -1) { text = "\n" + text; start = end = v.length; }
          else { start = end = nl + 1; }
        } else if (start > 0 && !/[\s(]/.test(v.charAt(start - 1)) && !/^\s/.test(text)) {
          text = " " + text;
        }
        ta.setRangeText(text, start, end, "end");
        ta.focus();
        ta.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
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
