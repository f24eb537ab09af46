// The account page's card form: Stripe's own script (loaded before this one) collects the
// card in its element and confirms the SetupIntent hashcart asked Stripe for; hashcart then
// hears only which SetupIntent it was, and asks Stripe what card it saved.
"use strict";
(() => {
  const panel = document.getElementById("card-form");
  if (!panel || typeof Stripe === "undefined") return;
  const stripe = Stripe(panel.dataset.publishableKey);
  const start = document.getElementById("card-start");
  const area = document.getElementById("card-area");
  const save = document.getElementById("card-save");
  const problem = document.getElementById("card-problem");
  const done = document.getElementById("card-done");
  let element = null;
  let clientSecret = null;

  function say(text) {
    problem.textContent = text;
    problem.hidden = !text;
  }

  start.addEventListener("click", async () => {
    start.disabled = true;
    say("");
    const answer = await fetch("/account/payment-method/setup", {
      method: "POST",
      headers: { "X-CSRF-Token": panel.dataset.csrf },
      credentials: "same-origin",
    });
    const body = await answer.json().catch(() => ({}));
    if (!answer.ok || !body.client_secret) {
      start.disabled = false;
      say(body.detail || "The card form could not be opened. Try again in a moment.");
      return;
    }
    clientSecret = body.client_secret;
    element = stripe.elements().create("card");
    element.mount("#card-element");
    area.hidden = false;
    start.hidden = true;
  });

  save.addEventListener("click", async () => {
    save.disabled = true;
    say("");
    const result = await stripe.confirmCardSetup(clientSecret, { payment_method: { card: element } });
    if (result.error || !result.setupIntent) {
      save.disabled = false;
      say((result.error && result.error.message) || "The card was not saved.");
      return;
    }
    done.elements.setup_intent.value = result.setupIntent.id;
    done.submit();
  });
})();
