// The account page: a Copy button beside the link code (shown only where the clipboard works).
"use strict";
for (const button of document.querySelectorAll("button.copy[data-copy]")) {
  if (!navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy it";
    }
  });
}
