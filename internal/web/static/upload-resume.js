// upload-resume.js — what lets an upload resume after a dropped connection or a
// closed tab: localStorage maps a file, as (box, name, size, lastModified), to its
// upload id. The key is a hash of those, so file names, which may name a patient,
// are not left in the browser. Storage may be unavailable (private windows, full);
// resuming is then simply not offered.

const PREFIX = 'medbox.upload.';
const TTL_MS = 24 * 3600_000; // the server sweeps untouched uploads after 24 h

// resumeKey returns the storage key of file in box, or null without Web Crypto.
export async function resumeKey(box, file) {
  if (!crypto.subtle) return null;
  const raw = JSON.stringify([box, file.name, file.size, file.lastModified]);
  const sum = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(raw)));
  return PREFIX + [...sum.slice(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// loadResume returns {id, at} stored under key, or null.
export function loadResume(key) {
  try {
    const v = JSON.parse(localStorage.getItem(key) || 'null');
    return v && typeof v.id === 'string' && Date.now() - v.at < TTL_MS ? v : null;
  } catch {
    return null;
  }
}

export function saveResume(key, id) {
  if (!key) return;
  try {
    localStorage.setItem(key, JSON.stringify({ id, at: Date.now() }));
  } catch {
    // no resume across page loads, but the upload goes on
  }
}

export function forgetResume(key) {
  if (!key) return;
  try {
    localStorage.removeItem(key);
  } catch {
    // nothing to forget
  }
}

// pruneResume drops entries older than the server keeps an untouched upload.
export function pruneResume() {
  try {
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const k = localStorage.key(i);
      if (k && k.startsWith(PREFIX) && !loadResume(k)) localStorage.removeItem(k);
    }
  } catch {
    // storage unavailable
  }
}
