// hash-worker.js — reads one chunk of a file and returns the SHA-256 (base64) of
// its bytes, so reading and hashing never block the page. upload.js sends
// {id, blob}; the answer is {id, digest}, or {id, error} when the file cannot be
// read. The page sends the Blob itself as the body; the bytes read here are
// dropped. digest is null where Web Crypto is
// missing (a page not served over HTTPS); the chunk then goes without a
// Content-Digest, which the protocol allows.
'use strict';

self.onmessage = async (event) => {
  const { id, blob } = event.data;
  try {
    const buf = await blob.arrayBuffer();
    let digest = null;
    if (self.crypto && self.crypto.subtle) {
      digest = base64(new Uint8Array(await self.crypto.subtle.digest('SHA-256', buf)));
    }
    self.postMessage({ id, digest });
  } catch (err) {
    self.postMessage({ id, error: (err && err.name) || 'Error' });
  }
};

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}
