// deid.js — 「匿名化して送る」 on the box page: what upload.js calls on every
// selection before it queues anything (prepareFiles). With the option on, the
// DICOM files of the selection (single files, a DICOMDIR folder, a ZIP of a
// study) are de-identified in a Web Worker (deid-worker.js, PS3.15 Annex E with
// the options shown), the sender sees what changes (患者名 山田^太郎 → ANON-7K3Q)
// and, where identity may be burned into the pixels, confirms having looked.
// Only then are the rewritten files — new headers plus slices of the originals,
// so memory does not double — handed back to be uploaded. Photos lose their EXIF
// position, owner and serial fields the same way, on by default. A file that
// cannot be rewritten is handed back refused, with a message, and is not sent.

const $ = (id) => document.getElementById(id);

let ready = false;
let worker = null; // one for the page, started with it
const batches = new Map(); // batch id → {resolve, reject, progress}
let nextBatch = 1;

function setup() {
  if (ready || !$('deid')) return;
  ready = true;
  $('deid').hidden = false;
  worker = new Worker(new URL('deid-worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = (e) => {
    const b = batches.get(e.data.id);
    if (!b) return;
    if (e.data.progress) return b.progress(e.data.progress);
    batches.delete(e.data.id);
    b.resolve(e.data.results);
  };
  worker.onerror = (e) => {
    for (const b of batches.values()) b.reject(e);
    batches.clear();
  };
  const on = $('deid-on');
  const sync = () => {
    $('deid-options').hidden = !on.checked;
  };
  on.addEventListener('change', sync);
  sync();
}

if (document.readyState !== 'loading') setup();
else document.addEventListener('DOMContentLoaded', setup);

function options() {
  return {
    retainPatientCharacteristics: $('deid-opt-patient').checked,
    modifiedDates: $('deid-opt-dates').checked,
    cleanDescriptors: $('deid-opt-descriptors').checked,
    retainDeviceIdentity: $('deid-opt-device').checked,
  };
}

const PHOTO = /\.(jpe?g|png|hei[cf])$/i;

// prepareFiles returns, for each file, {file} to send (rewritten or as it was)
// or {file, refused} with the message to show instead of sending it; or null
// when the sender cancelled, and nothing is sent.
export async function prepareFiles(files, t) {
  setup();
  if (!$('deid')) return files.map((file) => ({ file }));
  const dicom = $('deid-on').checked;
  const photos = $('deid-photos').checked;
  const todo = files.filter((f) => dicom || (photos && (PHOTO.test(f.name) || /^image\//.test(f.type))));
  if (todo.length === 0) return files.map((file) => ({ file }));
  const results = await runWorker(todo, { options: options(), dicom, photos }, t);
  const byFile = new Map(todo.map((f, i) => [f, results[i]]));
  const rewritten = results.filter((r) => r.kind === 'dicom' || r.kind === 'zip');
  if (rewritten.length > 0 && !(await review(rewritten, t))) {
    status(t('upload.deid.cancelled'));
    return null;
  }
  status('');
  return files.map((file) => {
    const r = byFile.get(file);
    if (!r || r.kind === 'other') return { file };
    if (r.kind === 'error') {
      const key = 'upload.deid.err.' + r.error.code;
      return { file, refused: t(t.has(key) ? key : 'upload.deid.err.malformed', { Detail: r.error.detail }) };
    }
    if (r.kind === 'photo' && !r.info.removed) return { file };
    const out = new File([r.blob], file.name, { type: file.type, lastModified: file.lastModified });
    const note = r.kind === 'photo' ? t('upload.deid.note_photo') : t('upload.deid.note_dicom', { Name: r.info.pseudonyms.join(', ') });
    return { file: out, note };
  });
}

function status(s) {
  const el = $('deid-status');
  el.textContent = s;
  el.hidden = s === '';
}

function runWorker(files, msg, t) {
  return new Promise((resolve, reject) => {
    const id = nextBatch++;
    status(t('upload.deid.working', { Done: 0, Total: files.length }));
    batches.set(id, {
      resolve,
      reject: (e) => {
        status('');
        reject(e);
      },
      progress: (p) => status(t('upload.deid.working', { Done: p.done, Total: p.total })),
    });
    worker.postMessage({ id, files, ...msg });
  });
}

const FIELDS = ['00100010', '00100020', '00100030', '00080020', '00080050', '00080080', '00080090', '00081030'];

// review shows what changes, patient by patient, and the burned-in warning; it
// resolves true when the sender chose to send.
function review(results, t) {
  const box = $('deid-review');
  const changes = $('deid-changes');
  changes.replaceChildren();
  const infos = results.flatMap((r) => (r.info.all ? r.info.all : [r.info])).filter((i) => !i.directory);
  const seen = new Set();
  for (const info of infos) {
    const who = info.pseudonyms.join(', ');
    if (seen.has(who)) continue;
    seen.add(who);
    const table = document.createElement('table');
    const body = document.createElement('tbody');
    for (const tag of FIELDS) {
      const before = info.fields[tag];
      if (!before || decode(before, info.fields.charset) === '') continue;
      const after = info.after[tag];
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = t('upload.deid.field.' + tag);
      const td = document.createElement('td');
      const b = span('before', decode(before, info.fields.charset));
      const a = span('after', after === null ? t('upload.deid.removed') : decode(after, info.after.charset) || t('upload.deid.empty'));
      td.append(b, span('arrow', '→'), a);
      tr.append(th, td);
      body.append(tr);
    }
    table.append(body);
    changes.append(table);
  }
  const files = results.reduce((n, r) => n + (r.info.count || 1), 0);
  $('deid-review-count').textContent = t('upload.deid.review_files', { N: files, P: seen.size });
  const burned = new Set();
  for (const info of infos) {
    if (!info.burnedIn) continue;
    burned.add(info.fields.modality || t('upload.deid.burned_yes'));
  }
  const ok = $('deid-burned-ok');
  ok.checked = false;
  $('deid-burned').hidden = burned.size === 0;
  $('deid-burned-text').textContent = t('upload.deid.burned', { List: [...burned].join(', ') });
  const send = $('deid-send');
  const cancel = $('deid-cancel');
  const sync = () => {
    send.disabled = burned.size > 0 && !ok.checked;
  };
  sync();
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest' });
  return new Promise((resolve) => {
    const done = (v) => {
      box.hidden = true;
      ok.removeEventListener('change', sync);
      send.removeEventListener('click', yes);
      cancel.removeEventListener('click', no);
      resolve(v);
    };
    const yes = () => done(true);
    const no = () => done(false);
    ok.addEventListener('change', sync);
    send.addEventListener('click', yes);
    cancel.addEventListener('click', no);
  });
}

function span(cls, s) {
  const el = document.createElement('span');
  el.className = cls;
  el.textContent = s;
  return el;
}

// decode turns a DICOM text value into a string, in its Specific Character Set:
// ISO 2022 with JIS X 0208 and the half-width katakana of JIS X 0201 (the
// Japanese sets), UTF-8, Latin-1 and the other single- and multi-byte sets
// browsers know.
export function decode(bytes, charset) {
  const sets = (charset || '').split('\\').map((s) => s.trim().toUpperCase());
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s;
  if (sets.includes('ISO_IR 192')) s = new TextDecoder('utf-8').decode(b);
  else if (sets.some((x) => x.startsWith('ISO 2022'))) s = decode2022(b);
  else if (sets.includes('GB18030') || sets.includes('GBK')) s = new TextDecoder('gb18030').decode(b);
  else if (sets.includes('ISO_IR 13')) s = new TextDecoder('shift_jis').decode(b);
  else if (sets.includes('ISO_IR 166')) s = new TextDecoder('windows-874').decode(b);
  else s = new TextDecoder('windows-1252').decode(b);
  return s.replace(/[\0\s]+$/, '').replace(/^\s+/, '').replace(/[\u0000-\u001f\u007f]/g, '');
}

function decode2022(b) {
  let out = '';
  let mode = 'ascii';
  const jis = new TextDecoder('iso-2022-jp');
  for (let i = 0; i < b.length;) {
    if (b[i] === 0x1b) {
      const seq = String.fromCharCode(...b.subarray(i + 1, i + 4));
      if (seq.startsWith('$B') || seq.startsWith('$@')) {
        mode = 'jis';
        i += 3;
      } else if (seq.startsWith('$(D')) {
        mode = 'skip2';
        i += 4;
      } else if (seq.startsWith('(B') || seq.startsWith('(J') || seq.startsWith(')I')) {
        mode = 'ascii';
        i += 3;
      } else if (seq.startsWith('-')) {
        i += 3;
      } else {
        i++;
      }
      continue;
    }
    if (mode === 'jis' && b[i] >= 0x21 && b[i] < 0x7f) {
      // The whole run of JIS X 0208 pairs at once, with no escape back at its
      // end: Chromium's decoder marks such an escape after output as an error.
      let j = i;
      while (j + 1 < b.length && b[j] >= 0x21 && b[j] < 0x7f && b[j + 1] >= 0x21 && b[j + 1] < 0x7f) j += 2;
      out += jis.decode(concatBytes([0x1b, 0x24, 0x42], b.subarray(i, j)));
      i = Math.max(j, i + 1);
      continue;
    }
    if (mode === 'skip2') {
      i += 2;
      out += '?';
      continue;
    }
    if (b[i] >= 0xa1 && b[i] <= 0xdf) out += String.fromCharCode(0xff61 + b[i] - 0xa1);
    else if (b[i] < 0x80) out += String.fromCharCode(b[i]);
    else out += String.fromCharCode(b[i]);
    if (b[i] === 0x5e || b[i] === 0x3d) mode = 'ascii'; // ^ and = end a component in PN
    i++;
  }
  return out;
}

function concatBytes(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
