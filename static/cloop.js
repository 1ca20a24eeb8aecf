// cloop: progressive enhancement only; every page works without it.
// Tree tables: folders collapse and expand their rows.
(function () {
  "use strict";
  function descendants(table, id) {
    var out = [];
    var stack = [String(id)];
    while (stack.length) {
      var parent = stack.pop();
      table.querySelectorAll('tr[data-parent="' + parent + '"]').forEach(function (row) {
        out.push(row);
        stack.push(row.getAttribute("data-node"));
      });
    }
    return out;
  }
  document.querySelectorAll("table.tree button.twisty").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var row = button.closest("tr");
      var table = button.closest("table");
      var open = button.getAttribute("aria-expanded") === "true";
      button.setAttribute("aria-expanded", open ? "false" : "true");
      button.textContent = open ? "\u25B8" : "\u25BE";
      descendants(table, row.getAttribute("data-node")).forEach(function (r) {
        if (open) {
          r.hidden = true;
        } else {
          r.hidden = false;
          var b = r.querySelector("button.twisty");
          if (b) { b.setAttribute("aria-expanded", "true"); b.textContent = "\u25BE"; }
        }
      });
    });
  });
})();
