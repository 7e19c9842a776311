/* Top-up form: preset amounts and a live "you pay $100.00 and get $120.00" line (issue 19). The sum is
   done in whole cents with the server's bonus rate (data-bonus-basis-points), rounded half-up like
   apps/wallet/services/topups.topup_bonus; what the line says goes with the form (expected_credits) and the
   server refuses the payment if its own sum differs. No dependencies. */
(function () {
  "use strict";
  if (window.flowportTopup) {
    return;
  }
  window.flowportTopup = true;

  var AMOUNT = /^\s*(\d{1,5})(?:\.(\d{0,2}))?\s*$/;

  function cents(text) {
    var match = AMOUNT.exec(text || "");
    if (!match) {
      return null;
    }
    return parseInt(match[1], 10) * 100 + parseInt(((match[2] || "") + "00").slice(0, 2), 10);
  }

  function usd(valueCents) {
    var whole = Math.floor(valueCents / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var part = ("0" + (valueCents % 100)).slice(-2);
    return "$" + whole + "." + part;
  }

  function update(form) {
    var line = form.querySelector("[data-bonus-basis-points]");
    var input = form.querySelector("input[name=amount]");
    var expected = form.querySelector("[data-topup-expected]");
    if (!line || !input) {
      return;
    }
    var amount = cents(input.value);
    if (amount === null || amount < 500 || amount > 2500000) {
      line.textContent = "";
      if (expected) {
        expected.value = "";
      }
      return;
    }
    var rate = parseInt(line.getAttribute("data-bonus-basis-points"), 10);
    var bonus = Math.floor((amount * rate + 5000) / 10000);
    line.textContent = line
      .getAttribute("data-template")
      .replace("{amount}", usd(amount))
      .replace("{credits}", usd(amount + bonus))
      .replace("{bonus}", usd(bonus));
    if (expected) {
      expected.value = ((amount + bonus) / 100).toFixed(2);
    }
  }

  function formOf(element) {
    return element.closest && element.closest("form");
  }

  document.addEventListener("input", function (event) {
    if (event.target.name === "amount" && formOf(event.target) && formOf(event.target).querySelector("[data-bonus-basis-points]")) {
      update(formOf(event.target));
    }
  });
  document.addEventListener("click", function (event) {
    var preset = event.target.closest("[data-topup-preset]");
    if (!preset) {
      return;
    }
    var form = formOf(preset);
    form.querySelector("input[name=amount]").value = preset.getAttribute("data-topup-preset");
    update(form);
  });

  function all(root) {
    var scope = root && root.querySelectorAll ? root : document;
    Array.prototype.forEach.call(scope.querySelectorAll("[data-bonus-basis-points]"), function (line) {
      update(formOf(line));
    });
  }
  document.addEventListener("htmx:load", function (event) {
    all(event.detail && event.detail.elt);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      all(document);
    });
  } else {
    all(document);
  }
})();
