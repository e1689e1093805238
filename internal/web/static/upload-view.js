// upload-view.js — the markup the upload script adds to the box page: a row per
// file, and completed files in the box's list. File names only ever reach the
// page through textContent or setAttribute.

import { formatBytes } from './upload-text.js';

// Row is the markup of one file: name, buttons, bar, state, a note and a message.
// on holds the handlers of its buttons: cancel, retry and dismiss.
export function Row(name, size, t, on) {
  name = shownName(name);
  const row = el('div', 'upload-row');
  row.dataset.state = 'waiting';
  const title = el('span', 'upload-name');
  title.textContent = name;
  const buttons = el('span', 'upload-buttons');
  const bar = el('progress', 'upload-bar');
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute('aria-label', name);
  const meta = el('span', 'upload-meta');
  const state = el('span', 'upload-state');
  const amount = el('span', 'upload-amount');
  amount.setAttribute('aria-hidden', 'true');
  meta.append(state, amount);
  const note = el('p', 'upload-note');
  note.hidden = true;
  const msg = el('p', 'upload-msg');
  msg.setAttribute('role', 'alert');
  msg.hidden = true;
  row.append(title, buttons, bar, meta, note, msg);
  const sizeText = formatBytes(size);
  const button = (label, cls, aria, onclick) => {
    const b = el('button', 'upload-action ' + cls);
    b.type = 'button';
    b.textContent = label;
    if (aria) b.setAttribute('aria-label', aria);
    b.addEventListener('click', onclick);
    return b;
  };

  this.el = row;
  // progress shows the fraction f sent; a settled row shows only the size.
  this.progress = (f, settled) => {
    bar.value = f;
    setText(amount, sizeText + (settled ? '' : ' · ' + Math.floor(f * 100) + '%'));
  };
  this.showState = (s) => setText(state, s);
  this.note = (s) => {
    note.textContent = s;
    note.hidden = s === '';
  };
  this.message = (s) => {
    msg.textContent = s;
    msg.hidden = s === '';
  };
  // ask puts a question on the row with two answers (a file that is in the box
  // already: send it again, or not); the state's own buttons come back after.
  this.ask = (question, yes, no, onYes, onNo) => {
    this.note(question);
    buttons.dataset.kind = 'ask';
    buttons.replaceChildren(button(yes, 'upload-again', '', onYes), button(no, 'upload-skip', '', onNo));
  };
  // state marks the row and offers the buttons that fit it.
  this.state = (st, retryable) => {
    row.dataset.state = st;
    const want = st === 'failed' ? (retryable ? 'retry' : 'dismiss') : st === 'done' || st === 'finishing' ? '' : 'cancel';
    if (buttons.dataset.kind === want) return;
    buttons.dataset.kind = want;
    buttons.replaceChildren();
    const named = t('upload.cancel_named', { Name: name });
    if (want === 'cancel') buttons.append(button(t('upload.cancel'), 'upload-cancel', named, on.cancel));
    if (want === 'retry') {
      buttons.append(button(t('upload.retry'), 'upload-retry', '', on.retry), button(t('upload.cancel'), 'upload-cancel', named, on.cancel));
    }
    if (want === 'dismiss') buttons.append(button(t('upload.dismiss'), 'upload-dismiss', '', on.dismiss));
  };
  this.state('waiting', false);
}

// addToFileList adds a completed file (the API's JSON) to the box's list, in the
// markup the server renders for it, with the ZIP link the server shows once a
// box has files.
export function addToFileList(f, box, t) {
  const card = document.getElementById('files');
  if (!card || !f) return;
  let ul = card.querySelector('ul.files');
  if (!ul) {
    ul = el('ul', 'files');
    const empty = card.querySelector('p.empty');
    if (empty) empty.replaceWith(ul);
    else card.append(ul);
    const head = card.querySelector('.heading-row');
    if (head && !head.querySelector('a.button')) {
      const zip = el('a', 'button small-button');
      zip.href = '/api/v1/boxes/' + encodeURIComponent(box) + '/zip';
      zip.textContent = t('upload.zip');
      head.append(zip);
    }
  }
  if ([...ul.children].some((li) => li.dataset.id === f.id)) return;
  const li = el('li', 'file');
  li.dataset.id = f.id;
  li.dataset.name = f.name;
  li.dataset.size = String(f.size);
  const a = el('a', 'file-name');
  a.href = '/api/v1/files/' + encodeURIComponent(f.id) + '/content';
  a.textContent = shownName(f.name);
  const meta = el('span', 'file-meta');
  meta.textContent = [formatBytes(f.size), t('upload.kind.' + f.class), f.sender && f.sender.name].filter(Boolean).join(' · ');
  const form = el('form', 'inline');
  form.method = 'post';
  form.action = '/files/' + encodeURIComponent(f.id) + '/delete';
  const del = el('button', 'link danger-link');
  del.type = 'submit';
  del.textContent = t('upload.delete_file');
  form.append(del);
  li.append(a, ' ', meta, ' ', form);
  ul.append(li);
}

// setText changes a node's text only when it differs, to spare the layout.
export function setText(node, s) {
  if (node.textContent !== s) node.textContent = s;
}

function el(tag, cls) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  return e;
}

// shownName drops the characters that make a name read as something it is not
// (bidirectional controls, zero-width and other invisible characters) and shows
// control characters as "_", as the server does for every name it keeps
// (filetype.DisplayName): "scan\u202Egpj.zip" would otherwise read "scanpiz.jpg".
export function shownName(name) {
  return String(name)
    .replace(/[\p{Cc}\u2028\u2029]/gu, '_')
    .replace(/[\p{Cf}\u034F\u115F\u1160\u3164\uFFA0\u17B4\u17B5\u180B-\u180F\uFFF0-\uFFF8\u{E0000}-\u{E00FF}]/gu, '');
}
