/* Stacked table cards on phones (app.css): each body cell gets its column header as data-label, shown
   before the value when the table is stacked. Runs on load and on every HTMX swap. No dependencies. */
(function () {
  "use strict";
  if (window.flowportTables) {
    return;
  }
  window.flowportTables = true;

  function label(table) {
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!head) {
      return;
    }
    var names = [];
    Array.prototype.forEach.call(head.cells, function (cell) {
      var text = cell.textContent.replace(/\s+/g, " ").trim();
      for (var i = 0; i < (cell.colSpan || 1); i += 1) {
        names.push(text);
      }
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (names[column] && !cell.hasAttribute("data-label") && (cell.colSpan || 1) === 1) {
            cell.setAttribute("data-label", names[column]);
          }
          column += cell.colSpan || 1;
        });
      });
    });
  }

  function labelAll(root) {
    var scope = root && root.querySelectorAll ? root : document;
    if (scope.tagName === "TABLE") {
      label(scope);
    }
    Array.prototype.forEach.call(scope.querySelectorAll("table"), label);
  }

  document.addEventListener("htmx:load", function (event) {
    labelAll(event.detail && event.detail.elt);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      labelAll(document);
    });
  } else {
    labelAll(document);
  }
})();
