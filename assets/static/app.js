// Progressive enhancement only: every page works the same without this file.
//
// A submitted form's button says it is working and cannot be pressed twice.
// Logging in, signing up and changing a password run argon2id on the server,
// which takes about half a second; without a sign of work people press again.
// Only POST forms: they all answer with a new page. (A POST answered with a
// download would leave its button busy: give such a form method="get".)
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (event.defaultPrevented || form.method !== "post") {
    return;
  }
  if (form.hasAttribute("data-submitting")) {
    event.preventDefault(); // the first submission is on its way
    return;
  }
  form.setAttribute("data-submitting", "");
  var button = event.submitter;
  if (!button) {
    return;
  }
  button.setAttribute("aria-busy", "true");
  // Disabled on the next tick: the browser reads the form's values right
  // after this event, and a disabled button's name and value are not sent.
  setTimeout(function () {
    button.disabled = true;
  }, 0);
});

// A page restored with the back button (the back-forward cache) shows its
// forms as they were left: ready again, not busy.
window.addEventListener("pageshow", function (event) {
  if (!event.persisted) {
    return;
  }
  document.querySelectorAll("form[data-submitting]").forEach(function (form) {
    form.removeAttribute("data-submitting");
    form.querySelectorAll("[aria-busy]").forEach(function (button) {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    });
  });
});
