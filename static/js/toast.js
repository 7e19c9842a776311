/* Feedback where the action is (issue 19).

   - Toasts: an HTMX answer carries its messages in HX-Trigger ("flowport:toast", apps/console/middleware.py).
     The toast appears next to the control that acted: the control itself, or, when it sat in a dialog that
     has since closed, the control that opened the dialog; after HTMX has swapped the new content in, the
     control is looked up again (same id or data-testid). Success and info fade after a while; errors stay
     until closed.
   - Submit buttons are disabled while their request runs: HTMX forms through hx-disabled-elt (set on
     <body>, inherited), plain forms here once they are submitted.
   No dependencies; no inline script or style (the Content-Security-Policy allows neither). */
(function () {
  "use strict";
  if (window.flowportToasts) {
    return;
  }
  window.flowportToasts = true;

  var HIDE_AFTER_MS = 6000;
  var pending = null;

  // Where the toast goes: the control, then each enclosing element that has an id or data-testid (the
  // control itself may be gone after the swap, e.g. "Upgrade" once the plan is upgraded).
  function anchorFor(elt) {
    var dialog = elt && elt.closest && elt.closest("dialog");
    var control = dialog && dialog.flowportTrigger ? dialog.flowportTrigger : elt;
    var chain = [];
    for (var node = control; node && node.nodeType === 1 && node !== document.body; node = node.parentElement) {
      if (node === control || node.id || node.hasAttribute("data-testid")) {
        chain.push({ element: node, id: node.id, testid: node.getAttribute("data-testid") });
      }
    }
    return chain;
  }

  function findAgain(chain) {
    for (var i = 0; i < chain.length; i += 1) {
      var item = chain[i];
      var found = item.element.isConnected ? item.element : null;
      if (!found && item.id) {
        found = document.getElementById(item.id);
      }
      if (!found && item.testid) {
        found = document.querySelector('[data-testid="' + item.testid + '"]');
      }
      if (found && found.getClientRects().length && !found.closest("dialog:not([open])")) {
        return found;
      }
    }
    return null;
  }

  function place(toast, anchor) {
    var target = findAgain(anchor);
    var rect = target ? target.getBoundingClientRect() : null;
    if (!rect) {
      toast.classList.add("toast-floating"); // nothing to stand next to: bottom of the viewport
      return;
    }
    var width = Math.min(toast.offsetWidth || 320, document.documentElement.clientWidth - 16);
    var left = Math.max(8, Math.min(rect.left, document.documentElement.clientWidth - width - 8));
    toast.style.left = left + window.scrollX + "px";
    toast.style.top = rect.bottom + window.scrollY + 8 + "px";
  }

  function show(messages, anchor) {
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.setAttribute("data-testid", "toast");
    var lasting = false;
    messages.forEach(function (message) {
      var line = document.createElement("p");
      line.className = "toast-line toast-" + (message.level || "info");
      line.setAttribute("role", message.level === "error" ? "alert" : "status");
      line.textContent = message.text;
      toast.appendChild(line);
      lasting = lasting || message.level === "error" || message.level === "warning";
    });
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", document.body.getAttribute("data-close-label") || "Close");
    close.textContent = "×";
    close.addEventListener("click", function () {
      toast.remove();
    });
    toast.appendChild(close);
    document.body.appendChild(toast);
    place(toast, anchor);
    if (toast.scrollIntoView && !toast.classList.contains("toast-floating")) {
      toast.scrollIntoView({ block: "nearest" });
    }
    if (!lasting) {
      window.setTimeout(function () {
        toast.remove();
      }, HIDE_AFTER_MS);
    }
  }

  function flush() {
    if (pending) {
      var toShow = pending;
      pending = null;
      show(toShow.messages, toShow.anchor);
    }
  }

  // HX-Trigger events fire on the requesting element before the swap; the toast is shown once the new
  // content has settled (or shortly, when the answer swaps nothing).
  document.addEventListener("flowport:toast", function (event) {
    var messages = (event.detail && event.detail.messages) || [];
    if (messages.length) {
      pending = { messages: messages, anchor: anchorFor(event.target) };
      window.setTimeout(flush, 1000);
    }
  });
  document.addEventListener("htmx:afterSettle", flush);

  // Plain (non-HTMX) forms: disable their submit buttons once submitted, so a second click sends nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("hx-post") || form.hasAttribute("hx-get") ||
        (form.getAttribute("method") || "").toLowerCase() === "dialog") {
      return;
    }
    window.setTimeout(function () { // after the browser took the submitter's name/value
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit], button:not([type])"), function (b) {
        b.disabled = true;
        b.setAttribute("aria-busy", "true");
      });
    }, 0);
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { // back to a page kept in memory: its buttons work again
      Array.prototype.forEach.call(document.querySelectorAll("button[aria-busy=true]"), function (b) {
        b.disabled = false;
        b.removeAttribute("aria-busy");
      });
    }
  });
})();
