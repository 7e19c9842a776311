/* Open and close <dialog> elements from buttons, without inline handlers (the Content-Security-Policy
   allows no inline script): data-dialog-open="<dialog id>" opens it, data-dialog-close closes the
   dialog the button is in. One delegated listener, so it also works on fragments swapped in by HTMX. */
(function () {
  "use strict";
  if (window.flowportDialogs) {
    return;
  }
  window.flowportDialogs = true;
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && !dialog.open) {
        dialog.showModal();
      }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer && closer.closest("dialog")) {
      closer.closest("dialog").close();
    }
  });
})();
