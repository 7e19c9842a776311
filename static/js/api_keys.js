/* API key sections: open the one-time secret dialog and copy the secret. Closing it (Done or Escape)
   before the secret was copied asks "Copied it?" first. No dependencies. */
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
      dialog.addEventListener("cancel", function (event) {
        if (askFirst(dialog)) {
          event.preventDefault();
        }
      });
      var done = dialog.querySelector("form[data-reveal-done]");
      if (done) {
        done.addEventListener("submit", function (event) {
          if (askFirst(dialog)) {
            event.preventDefault();
          }
        });
        var back = done.querySelector("[data-reveal-back]");
        back.addEventListener("click", function () {
          ask(dialog, false);
        });
      }
      dialog.showModal();
    });
  }

  // Show (or hide) the "Copied it?" question; true when closing should wait for the answer.
  function ask(dialog, show) {
    var question = dialog.querySelector("[data-reveal-ask]");
    var back = dialog.querySelector("[data-reveal-back]");
    var done = dialog.querySelector("form[data-reveal-done] button[type=submit]");
    if (!question || !back || !done) {
      return;
    }
    if (!done.hasAttribute("data-done-label")) {
      done.setAttribute("data-done-label", done.textContent);
    }
    question.hidden = !show;
    back.hidden = !show;
    done.textContent = show ? done.getAttribute("data-ask-label") : done.getAttribute("data-done-label");
    dialog.flowportAsked = show;
    (show ? done : dialog.querySelector(".api-key-copy") || done).focus();
  }

  function askFirst(dialog) {
    if (dialog.flowportCopied || dialog.flowportAsked || !dialog.querySelector("[data-reveal-ask]")) {
      return false;
    }
    ask(dialog, true);
    return true;
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
        var dialog = button.closest("dialog");
        if (dialog) {
          dialog.flowportCopied = true;
        }
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
