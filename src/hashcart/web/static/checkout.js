// Checkout: show the card fields only when a card is the chosen way to pay.
(function () {
  "use strict";
  var form = document.getElementById("checkout-form");
  var cardFields = document.getElementById("card-fields");
  if (!form || !cardFields) { return; }
  function update() {
    var chosen = form.querySelector('input[name="payment_method"]:checked');
    cardFields.hidden = !(chosen && chosen.getAttribute("data-card") === "yes");
  }
  form.addEventListener("change", update);
  update();
})();
