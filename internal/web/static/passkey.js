// passkey.js — the browser side of passkeys (WebAuthn, R-X2).
//
// The server renders the ceremony's options into #passkey-options as JSON, with
// every binary field in base64url, and keeps the challenge on its side, bound to
// the session. This script turns those fields into ArrayBuffers, asks the browser
// (navigator.credentials.create or .get), turns the answer back into JSON with
// base64url fields, puts it into the form's hidden field and submits the form.
//
//   <form data-passkey="create">: adding a passkey in settings; the submit button
//     runs the ceremony, the answer goes into input[name=credential].
//   <form data-passkey="get">: the second-factor and re-authentication pages; a
//     [data-passkey-start] button runs the ceremony, the answer goes into
//     input[name=passkey].
//   <form data-passkey="signin">: the sign-in page's passwordless sign-in; the
//     options are fetched from data-options (the server starts the ceremony only
//     then, with the browser's ticket in a cookie) and no passkey is named: the
//     browser offers the ones it holds for this site.
//
// Without JavaScript or WebAuthn the passkey controls stay hidden and the pages
// work with codes alone.

function toBuffer(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

function toBase64url(buf) {
  const bytes = new Uint8Array(buf);
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function readOptions() {
  const el = document.getElementById('passkey-options');
  if (!el || !el.textContent.trim()) return null;
  return JSON.parse(el.textContent).publicKey;
}

async function fetchOptions(form) {
  const res = await fetch(form.dataset.options, { method: 'POST', credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) throw new Error('passkey options: ' + res.status);
  return (await res.json()).publicKey;
}

function creationOptions(pk) {
  pk.challenge = toBuffer(pk.challenge);
  pk.user.id = toBuffer(pk.user.id);
  for (const c of pk.excludeCredentials || []) c.id = toBuffer(c.id);
  return pk;
}

function requestOptions(pk) {
  pk.challenge = toBuffer(pk.challenge);
  for (const c of pk.allowCredentials || []) c.id = toBuffer(c.id);
  return pk;
}

function credentialJSON(cred) {
  const r = cred.response;
  const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    if (r.getTransports) response.transports = r.getTransports();
  } else {
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature);
    if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
  }
  return JSON.stringify({
    id: cred.id,
    rawId: toBase64url(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    response,
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
  });
}

function showError(form) {
  const box = document.querySelector('[data-passkey-error]');
  if (!box) return;
  box.textContent = form.dataset.errorText || 'Passkey failed';
  box.hidden = false;
}

async function ceremony(form) {
  const options = form.dataset.passkey === 'signin' ? await fetchOptions(form) : readOptions();
  if (!options) throw new Error('no passkey options on the page');
  if (form.dataset.passkey === 'create') {
    const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
    form.elements.credential.value = credentialJSON(cred);
  } else {
    const cred = await navigator.credentials.get({ publicKey: requestOptions(options) });
    form.elements.passkey.value = credentialJSON(cred);
  }
  form.submit(); // a native submit: no second submit event
}

function run(form, button) {
  if (button) button.disabled = true;
  ceremony(form).catch((err) => {
    console.warn('passkey:', err);
    if (button) button.disabled = false;
    showError(form);
  });
}

if (window.PublicKeyCredential && navigator.credentials) {
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    if (form.dataset.passkey === 'create') {
      form.hidden = false;
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        run(form, ev.submitter);
      });
    } else {
      for (const el of form.querySelectorAll('[data-passkey-start]')) {
        el.hidden = false;
        if (el.tagName !== 'BUTTON') continue;
        el.addEventListener('click', () => {
          // The password of the re-authentication page must come with the passkey.
          if (!form.reportValidity()) return;
          run(form, el);
        });
      }
    }
  }
  for (const el of document.querySelectorAll('[data-passkey-unsupported]')) el.hidden = true;
}
