/* API key sections: open the one-time secret dialog and copy the secret. No dependencies. */
(function () {
  "use strict";
  if (window.flowportApiKeys) {
    return;
  }
  window.flowportApiKeys = true;

  function openReveals(root) {
    var dialogs = (root || document).querySelectorAll("dialog[data-api-key-reveal]");
    Array.prototype.forEach.call(dialogs, function (dialog) {
      if (dialog.open || typeof dialog.showModal !== "function") {
        return;
      }
      // Once closed, the secret leaves the page.
      dialog.addEventListener("close", function () {
        dialog.remove();
      });
      dialog.showModal();
    });
  }

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function legacyCopy(element) {
    selectText(element);
    return document.execCommand && document.execCommand("copy");
  }

  function copy(element) {
    var text = element.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        if (!legacyCopy(element)) {
          throw new Error("copy failed");
        }
      });
    }
    return legacyCopy(element) ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) {
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) {
      return;
    }
    copy(source).then(
      function () {
        button.textContent = button.getAttribute("data-copied-label");
      },
      function () {
        selectText(source);
        button.textContent = button.getAttribute("data-copy-failed-label");
      }
    );
  });

  document.addEventListener("htmx:load", function (event) {
    openReveals(event.target);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      openReveals(document);
    });
  } else {
    openReveals(document);
  }
})();
