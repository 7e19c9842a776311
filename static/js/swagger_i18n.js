/* Swagger UI in the page's language: Swagger UI ships English labels only, so its text nodes, button values
   and placeholders that equal an English label in <template id="swagger-labels"> are replaced with the
   translation given there (templates/drf_spectacular/swagger_ui.html). Does nothing on English pages. */
(function () {
  "use strict";
  var source = document.getElementById("swagger-labels");
  var root = document.getElementById("swagger-ui");
  if (!source || !root || (document.documentElement.lang || "en").indexOf("en") === 0) {
    return;
  }
  var labels = {};
  Array.prototype.forEach.call(source.content.querySelectorAll("[data-en]"), function (span) {
    labels[span.getAttribute("data-en")] = span.textContent;
  });

  function translateNode(node) {
    if (node.nodeType === Node.TEXT_NODE) {
      var text = node.nodeValue.trim();
      if (text && Object.prototype.hasOwnProperty.call(labels, text) && labels[text] !== text) {
        node.nodeValue = node.nodeValue.replace(text, labels[text]);
      }
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) {
      return;
    }
    ["value", "placeholder", "aria-label", "title"].forEach(function (name) {
      var value = node.getAttribute(name);
      if (value && Object.prototype.hasOwnProperty.call(labels, value.trim()) && node.tagName !== "OPTION") {
        node.setAttribute(name, labels[value.trim()]);
      }
    });
    var walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    for (var text = walker.nextNode(); text; text = walker.nextNode()) {
      translateNode(text);
    }
  }

  new MutationObserver(function (records) {
    records.forEach(function (record) {
      if (record.type === "characterData") {
        translateNode(record.target);
      }
      Array.prototype.forEach.call(record.addedNodes, translateNode);
    });
  }).observe(root, { childList: true, subtree: true, characterData: true });
  translateNode(root);
})();
