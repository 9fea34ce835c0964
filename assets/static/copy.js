// copy.js: a "Copy" button for a secret shown once (a new API token, recovery codes).
// <button type="button" data-copy="ID" hidden> copies the text of the element with that id.
// The button stays hidden without JavaScript or without a clipboard; the text is still there to select.
"use strict";

document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) {
    return;
  }
  var label = button.textContent;
  button.hidden = false;
  function say(text) {
    button.textContent = text;
    setTimeout(function () { button.textContent = label; }, 4000);
  }
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(source.textContent.trim()).then(
      function () { say("Copied"); },
      function () { say("Could not copy: select the text"); });
  });
});
