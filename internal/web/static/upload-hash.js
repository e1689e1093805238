// upload-hash.js — reads and hashes chunks off the main thread, in
// hash-worker.js. If the worker cannot run, the page does the same itself (Web
// Crypto is asynchronous there too).

// Hasher hands chunks (Blob slices) to the worker; hash(blob) resolves with
// {buf, digest}: the chunk's bytes and their SHA-256 in base64, or a null digest
// where Web Crypto is missing (a page not served over HTTPS).
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
      const { id, buf, digest, error } = e.data;
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      if (error) p.reject(new Error(error));
      else p.resolve({ buf, digest });
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
  return { buf, digest };
}

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}
