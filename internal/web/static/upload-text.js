// upload-text.js — the upload script's texts and number formats. The texts come
// from the page (#upload-text), in its language. The server renders them without
// data, so the ones the script fills use {Name} placeholders; {{.Name}} works too.

// translator returns t(id, vars): message id with its placeholders filled. A
// missing message shows its id, as the server's catalogs do.
export function translator(node) {
  let texts = {};
  try {
    texts = JSON.parse((node && node.textContent) || '{}');
  } catch {
    // no texts: ids show, which a test would notice
  }
  const t = (id, vars = {}) => {
    const s = texts[id] ?? id;
    return s.replace(/\{\{\s*\.(\w+)\s*\}\}|\{(\w+)\}/g, (m, a, b) => (vars[a || b] !== undefined ? String(vars[a || b]) : m));
  };
  t.has = (id) => id in texts;
  return t;
}

// formatBytes writes a size as the server's pages do: 1.5 GB, 820.0 MB, 12 KB.
export function formatBytes(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(1) + ' GB';
  if (n >= 1e6) return (n / 1e6).toFixed(1) + ' MB';
  if (n >= 1e3) return Math.round(n / 1e3) + ' KB';
  return Math.round(n) + ' B';
}

// formatETA writes s seconds coarsely: exact under a minute, then to 5 s, then
// hours and minutes.
export function formatETA(t, s) {
  if (!Number.isFinite(s)) return '—';
  s = Math.max(1, Math.ceil(s));
  if (s < 60) return t('upload.eta_seconds', { S: s });
  if (s < 3600) {
    s = Math.ceil(s / 5) * 5;
    return t('upload.eta_minutes', { M: Math.floor(s / 60), S: s % 60 });
  }
  return t('upload.eta_hours', { H: Math.floor(s / 3600), M: Math.floor(s / 60) % 60 });
}
