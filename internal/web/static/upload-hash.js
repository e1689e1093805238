// upload-hash.js — reads and hashes chunks off the main thread, in
// hash-worker.js. If the worker cannot run, the page does the same itself (Web
// Crypto is asynchronous there too).

// Hasher hands chunks (Blob slices) to the worker; hash(blob) resolves with
// {body, digest}: the slice itself, to send as the request body, and the SHA-256
// of its bytes in base64, or a null digest where Web Crypto is missing (a page
// not served over HTTPS). The bytes stay out of the page: a Blob body is read by
// the browser as it sends, where an ArrayBuffer would be copied to the network
// process first (bench/README.md has the measurement).
export function Hasher(url) {
  const pending = new Map();
  let seq = 0;
  let worker = null;
  const fallback = () => {
    if (worker) worker.terminate();
    worker = null;
    for (const p of pending.values()) hashHere(p.blob).then(p.resolve, p.reject);
    pending.clear();
  };
  try {
    worker = new Worker(url);
    worker.onmessage = (e) => {
      const { id, digest, error } = e.data;
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      if (error) p.reject(new Error(error));
      else p.resolve({ body: p.blob, digest });
    };
    worker.onerror = (e) => {
      e.preventDefault();
      fallback();
    };
  } catch {
    worker = null;
  }
  this.hash = (blob) => {
    if (!worker) return hashHere(blob);
    return new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { blob, resolve, reject });
      worker.postMessage({ id, blob });
    });
  };
}

async function hashHere(blob) {
  const buf = await blob.arrayBuffer();
  const digest = crypto.subtle ? base64(new Uint8Array(await crypto.subtle.digest('SHA-256', buf))) : null;
  return { body: blob, digest };
}

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}
