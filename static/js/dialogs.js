/* Modal dialogs without inline handlers (the Content-Security-Policy allows no inline script).

   - data-dialog-open="<dialog id>" on a button opens that dialog with showModal().
   - data-dialog-close on a button or link closes the dialog it is in; a link does not navigate (its href
     is the no-JavaScript fallback, which reloads the page).
   - <dialog open data-modal> rendered by the server (a page or an HTMX fragment) becomes a real modal:
     focus moves into it, Escape and a click on the backdrop close it, and focus returns to the control
     that opened it.
   - A dialog swapped in by HTMX (a section replaced with the dialog in it) is a modal too; focus returns to
     the control with the trigger's id or data-testid in the new content.
   - data-dialog-uncheck="<input id>" on a dialog unchecks that switch when the dialog closes (a switch that
     opened a dialog which was cancelled is off again).
   - hx-confirm="question" on an HTMX element: a styled confirmation (templates/base.html's
     #confirm-dialog-template) instead of the browser's prompt; data-confirm-danger makes its button red,
     data-confirm-label names it.
   One delegated listener plus htmx:load, so it also works on fragments swapped in by HTMX. */
(function () {
  "use strict";
  if (window.flowportDialogs) {
    return;
  }
  window.flowportDialogs = true;

  var lastTrigger = null; // the control last clicked outside any dialog: where focus returns on close

  function findAgain(control) {
    // The control itself, or its stand-in after HTMX replaced the section it was in.
    if (!control || control.isConnected) {
      return control;
    }
    if (control.id) {
      return document.getElementById(control.id);
    }
    var testid = control.getAttribute("data-testid");
    return testid ? document.querySelector('[data-testid="' + testid + '"]') : null;
  }

  function onBackdrop(dialog, event) {
    var content = dialog.querySelector("article") || dialog;
    var box = content.getBoundingClientRect();
    return event.clientX < box.left || event.clientX > box.right || event.clientY < box.top || event.clientY > box.bottom;
  }

  function returnFocus(dialog) {
    var target = findAgain(dialog.flowportTrigger);
    if (target && typeof target.focus === "function") {
      target.focus();
    }
  }

  function makeModal(dialog, swapped) {
    // Only a dialog some control on this page asked for: a dialog that came with the page itself (the
    // no-JavaScript fallback URL) stays as it is, and its links lead back to the page.
    var asked = lastTrigger && (lastTrigger.isConnected || swapped);
    if (dialog.flowportModal || typeof dialog.showModal !== "function" || !asked) {
      return;
    }
    dialog.flowportModal = true;
    dialog.flowportTrigger = lastTrigger;
    dialog.addEventListener("close", function () {
      var uncheck = document.getElementById(dialog.getAttribute("data-dialog-uncheck") || "");
      if (uncheck) {
        uncheck.checked = false;
      }
      returnFocus(dialog);
    });
    dialog.removeAttribute("open"); // no close event: the dialog is only reopened as a modal
    dialog.showModal();
  }

  function upgrade(root, swapped) {
    var scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("dialog[data-modal]")) {
      makeModal(scope, swapped);
    }
    Array.prototype.forEach.call(scope.querySelectorAll("dialog[data-modal]"), function (dialog) {
      makeModal(dialog, swapped);
    });
  }

  // Styled confirmation for hx-confirm (htmx 2: htmx:confirm carries the question and issueRequest).
  function confirmRequest(event) {
    var question = event.detail && event.detail.question;
    var template = document.getElementById("confirm-dialog-template");
    if (!question || !template || typeof HTMLDialogElement !== "function") {
      return; // no question: nothing to confirm; no template or no <dialog>: the browser's prompt
    }
    event.preventDefault();
    var source = event.detail.elt;
    var asker = source.closest("[hx-confirm]") || source;
    var dialog = template.content.firstElementChild.cloneNode(true);
    dialog.querySelector("[data-confirm-question]").textContent = question;
    var ok = dialog.querySelector("[data-confirm-ok]");
    if (asker.hasAttribute("data-confirm-danger")) {
      ok.classList.add("button-danger");
    }
    if (asker.getAttribute("data-confirm-label")) {
      ok.textContent = asker.getAttribute("data-confirm-label");
    }
    var trigger = document.activeElement;
    var confirmed = false;
    ok.addEventListener("click", function () {
      confirmed = true;
      dialog.close();
    });
    dialog.querySelector("[data-confirm-cancel]").addEventListener("click", function () {
      dialog.close();
    });
    dialog.addEventListener("click", function (click) {
      if (click.target === dialog && onBackdrop(dialog, click)) {
        dialog.close();
      }
    });
    dialog.addEventListener("close", function () {
      dialog.remove();
      if (confirmed) {
        event.detail.issueRequest(true);
      } else {
        var target = findAgain(trigger);
        if (target && typeof target.focus === "function") {
          target.focus();
        }
      }
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    ok.focus();
  }
  document.addEventListener("htmx:confirm", confirmRequest);

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
    // A click on the backdrop lands on the <dialog> itself (Pico makes it cover the viewport), outside the
    // <article> that holds its content.
    if (event.target.tagName === "DIALOG" && event.target.flowportModal) {
      if (onBackdrop(event.target, event)) {
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
    var elt = event.detail && event.detail.elt;
    upgrade(elt, elt && elt !== document.body);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      upgrade(document);
    });
  } else {
    upgrade(document);
  }
})();
