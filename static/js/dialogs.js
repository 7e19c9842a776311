/* Modal dialogs without inline handlers (the Content-Security-Policy allows no inline script).

   - data-dialog-open="<dialog id>" on a button opens that dialog with showModal().
   - data-dialog-close on a button or link closes the dialog it is in; a link does not navigate (its href
     is the no-JavaScript fallback, which reloads the page).
   - <dialog open data-modal> rendered by the server (a page or an HTMX fragment) becomes a real modal:
     focus moves into it, Escape and a click on the backdrop close it, and focus returns to the control
     that opened it.
   One delegated listener plus htmx:load, so it also works on fragments swapped in by HTMX. */
(function () {
  "use strict";
  if (window.flowportDialogs) {
    return;
  }
  window.flowportDialogs = true;

  var lastTrigger = null; // the control last clicked outside any dialog: where focus returns on close

  function returnFocus(dialog) {
    var target = dialog.flowportTrigger;
    if (target && target.isConnected && typeof target.focus === "function") {
      target.focus();
    }
  }

  function makeModal(dialog) {
    // Only a dialog some control on this page asked for: a dialog that came with the page itself (the
    // no-JavaScript fallback URL) stays as it is, and its links lead back to the page.
    var asked = lastTrigger && lastTrigger.isConnected;
    if (dialog.flowportModal || typeof dialog.showModal !== "function" || !asked) {
      return;
    }
    dialog.flowportModal = true;
    dialog.flowportTrigger = lastTrigger;
    dialog.addEventListener("close", function () {
      returnFocus(dialog);
    });
    dialog.removeAttribute("open"); // no close event: the dialog is only reopened as a modal
    dialog.showModal();
  }

  function upgrade(root) {
    var scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("dialog[data-modal]")) {
      makeModal(scope);
    }
    Array.prototype.forEach.call(scope.querySelectorAll("dialog[data-modal]"), makeModal);
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && !dialog.open) {
        dialog.flowportTrigger = opener;
        dialog.showModal();
      }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    var closing = closer && closer.closest("dialog");
    // A server-rendered dialog left as it is (see makeModal) keeps its link: it leads back to the page.
    if (closing && (closing.flowportModal || !closing.hasAttribute("data-modal"))) {
      event.preventDefault();
      closing.close();
      return;
    }
    // A click on the backdrop lands on the <dialog> itself, outside its content box.
    if (event.target.tagName === "DIALOG" && event.target.flowportModal) {
      var box = event.target.getBoundingClientRect();
      var inside =
        event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) {
        event.target.close();
      }
      return;
    }
    var control = event.target.closest("a, button, input, select, summary");
    if (control && !control.closest("dialog")) {
      lastTrigger = control;
    }
  });

  document.addEventListener("htmx:load", function (event) {
    upgrade(event.detail && event.detail.elt);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      upgrade(document);
    });
  } else {
    upgrade(document);
  }
})();
