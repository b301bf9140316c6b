// Passkeys for envelope's portals: the browser half of the WebAuthn
// ceremonies (web/passkey runs the server half). No build step, no
// dependencies. A button with data-passkey-register="/base" registers a
// passkey through /base/begin and /base/finish; one with
// data-passkey-login="/base" signs in the same way. Both stay hidden
// without JavaScript or WebAuthn, and the page offers codes instead.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function bytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); }).buffer;
  }
  function text(buf) {
    var s = "", b = new Uint8Array(buf);
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  async function post(url, body) {
    var r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    });
    var j = await r.json().catch(function () { return {}; });
    if (!r.ok) throw new Error(j.error || "refused (" + r.status + ")");
    return j;
  }

  async function register(base) {
    var o = (await post(base + "/begin")).publicKey;
    o.challenge = bytes(o.challenge);
    o.user.id = bytes(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
    var cred = await navigator.credentials.create({ publicKey: o });
    var name = document.getElementById("passkey-name");
    var r = cred.response;
    return post(base + "/finish?name=" + encodeURIComponent(name ? name.value : ""), {
      id: cred.id, rawId: text(cred.rawId), type: cred.type,
      response: {
        attestationObject: text(r.attestationObject), clientDataJSON: text(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : []
      },
      clientExtensionResults: cred.getClientExtensionResults()
    });
  }

  async function signIn(base, next) {
    var o = (await post(base + "/begin")).publicKey;
    o.challenge = bytes(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
    var a = await navigator.credentials.get({ publicKey: o });
    var r = a.response;
    return post(base + "/finish" + (next ? "?next=" + encodeURIComponent(next) : ""), {
      id: a.id, rawId: text(a.rawId), type: a.type,
      response: {
        authenticatorData: text(r.authenticatorData), clientDataJSON: text(r.clientDataJSON),
        signature: text(r.signature), userHandle: r.userHandle ? text(r.userHandle) : null
      },
      clientExtensionResults: a.getClientExtensionResults()
    });
  }

  document.querySelectorAll("[data-passkey-register], [data-passkey-login]").forEach(function (el) {
    el.hidden = false;
    el.addEventListener("click", async function (ev) {
      ev.preventDefault();
      var status = document.getElementById("passkey-status");
      el.disabled = true;
      try {
        var res = el.dataset.passkeyRegister ? await register(el.dataset.passkeyRegister) : await signIn(el.dataset.passkeyLogin, el.dataset.next);
        location.assign(res.next);
      } catch (e) {
        if (status) status.textContent = "The passkey was not accepted: " + e.message;
        el.disabled = false;
      }
    });
  });
})();
