// Passkeys: the browser's WebAuthn ceremony, on the login page and on
// Settings → Password and security. The server makes each challenge and
// checks each answer (app/auth_passkeys.go); this file only carries them
// between it and navigator.credentials. Without JavaScript, or in a browser
// without passkeys, the passkey controls stay hidden and nothing else
// changes.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  document.querySelectorAll(".passkey-only").forEach(function (el) {
    el.hidden = false;
  });
  document.querySelectorAll(".no-passkey-support").forEach(function (el) {
    el.hidden = true;
  });

  // base64url <-> ArrayBuffer: WebAuthn speaks binary, the JSON strings.
  function toBuffer(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }
  function toBase64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The server's options as navigator.credentials takes them.
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = toBuffer(pk.challenge);
    pk.user.id = toBuffer(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) {
      c.id = toBuffer(c.id);
    });
    return { publicKey: pk };
  }
  function requestOptions(o, mediation, signal) {
    var pk = o.publicKey;
    pk.challenge = toBuffer(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) {
      c.id = toBuffer(c.id);
    });
    var opts = { publicKey: pk };
    if (mediation) {
      opts.mediation = mediation;
    }
    if (signal) {
      opts.signal = signal;
    }
    return opts;
  }

  // A credential as the server reads it (the WebAuthn JSON encoding).
  function credentialJSON(c) {
    var r = c.response;
    var out = {
      id: c.id,
      rawId: toBase64url(c.rawId),
      type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) },
    };
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toBase64url(r.userHandle);
      }
    }
    return out;
  }

  // post sends body (FormData or an object as JSON) and returns the answer's
  // JSON; a refusal throws its message.
  function post(url, body) {
    var init = { method: "POST", credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body instanceof FormData) {
      init.body = new URLSearchParams(body);
    } else {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (res) {
      return res.json().then(function (data) {
        if (!res.ok) {
          throw new Error((data.error && data.error.message) || "Something went wrong. Please try again.");
        }
        return data;
      });
    });
  }

  // go opens the page the server names; the same page with another
  // #fragment would only scroll, so it is loaded again (for its message).
  function go(target) {
    var u = new URL(target, window.location.href);
    var samePage = u.pathname === window.location.pathname && u.search === window.location.search;
    window.location.assign(u.href);
    if (samePage) {
      window.location.reload();
    }
  }

  function show(el, message) {
    el.textContent = message;
    el.hidden = false;
  }

  // What a refused or cancelled prompt says.
  function reason(err) {
    if (err && err.name === "NotAllowedError") {
      return "The passkey prompt was closed or timed out. Nothing changed.";
    }
    if (err && err.name === "InvalidStateError") {
      return "This device already holds a passkey for your account.";
    }
    return (err && err.message) || "Something went wrong. Please try again.";
  }

  // A form that makes a passkey: it asks the server for the options (with
  // the form's fields), has the device create the passkey, and sends it
  // back. Settings use it to add one, the signup page to create an account.
  function creationForm(formId, errorId, finishURL, extra) {
    var form = document.getElementById(formId);
    if (!form) {
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = document.getElementById(errorId);
      var button = form.querySelector("button[type=submit]");
      error.hidden = true;
      button.setAttribute("aria-busy", "true");
      button.disabled = true;
      var body = extra(form);
      post(form.action, new FormData(form))
        .then(function (options) {
          return navigator.credentials.create(creationOptions(options));
        })
        .then(function (credential) {
          body.credential = credentialJSON(credential);
          return post(finishURL, body);
        })
        .then(function (done) {
          go(done.redirect);
        })
        .catch(function (err) {
          show(error, reason(err));
          button.removeAttribute("aria-busy");
          button.disabled = false;
        });
    });
  }
  creationForm("passkey-add", "passkey-add-error", "/settings/passkeys", function (form) {
    return { name: form.elements.name.value };
  });
  creationForm("passkey-signup", "passkey-signup-error", "/signup/passkey", function () {
    return {};
  });

  // The second step of a login: a passkey instead of the code.
  var mfa = document.getElementById("passkey-mfa-button");
  if (mfa) {
    mfa.addEventListener("click", function () {
      var error = document.getElementById("passkey-mfa-error");
      error.hidden = true;
      post("/login/2fa/passkey/options", {})
        .then(function (options) {
          return navigator.credentials.get(requestOptions(options));
        })
        .then(function (credential) {
          return post("/login/2fa/passkey", { credential: credentialJSON(credential) });
        })
        .then(function (done) {
          go(done.redirect);
        })
        .catch(function (err) {
          show(error, reason(err));
        });
    });
  }

  // Login: the button, and the email field's autofill.
  var login = document.getElementById("passkey-login");
  if (!login) {
    return;
  }
  var loginError = document.getElementById("passkey-login-error");
  var form = document.querySelector('form[action="/login"]');
  var pending = null; // the autofill request, aborted when the button is used

  function finish(credential) {
    var next = form && form.elements.next ? form.elements.next.value : "";
    var remember = form && form.elements.remember ? form.elements.remember.checked : false;
    return post("/login/passkey", { credential: credentialJSON(credential), remember: remember, next: next }).then(function (done) {
      go(done.redirect);
    });
  }

  document.getElementById("passkey-login-button").addEventListener("click", function () {
    if (pending) {
      pending.abort();
      pending = null;
    }
    loginError.hidden = true;
    post("/login/passkey/options", {})
      .then(function (options) {
        return navigator.credentials.get(requestOptions(options));
      })
      .then(finish)
      .catch(function (err) {
        show(loginError, reason(err));
      });
  });

  if (PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
      if (!ok) {
        return;
      }
      pending = new AbortController();
      var signal = pending.signal;
      post("/login/passkey/options?mediation=conditional", {})
        .then(function (options) {
          return navigator.credentials.get(requestOptions(options, "conditional", signal));
        })
        .then(finish)
        .catch(function (err) {
          if (err && err.name !== "AbortError") {
            show(loginError, reason(err));
          }
        });
    });
  }
})();
