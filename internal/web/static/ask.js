// ask.js — an action that cannot be undone asks once, naming what will be
// lost (internal/web/irreversible.go). A form with data-confirm (the question)
// and data-confirm-ok (the button's words) opens a dialog instead of being sent;
// "cancel" is focused first, so Enter or Escape does nothing harmful. Confirming
// sends the form with confirmed=yes, which the server asks for before it acts.
for (const form of document.querySelectorAll('form[data-confirm]')) {
  form.addEventListener('submit', (e) => {
    if (form.dataset.confirmed === 'yes') return;
    e.preventDefault();
    ask(form);
  });
}

function ask(form) {
  const dialog = document.createElement('dialog');
  dialog.className = 'ask';
  dialog.setAttribute('aria-labelledby', 'ask-dialog-text');
  const text = document.createElement('p');
  text.id = 'ask-dialog-text';
  text.textContent = form.dataset.confirm; // text, never markup: it may hold a file's name
  const note = document.createElement('p');
  note.className = 'ask-note';
  note.textContent = document.documentElement.lang === 'en' ? 'This cannot be undone.' : 'この操作は取り消せません。';
  const buttons = document.createElement('div');
  buttons.className = 'ask-buttons';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'button';
  cancel.textContent = document.documentElement.lang === 'en' ? 'Cancel' : 'やめる';
  const ok = document.createElement('button');
  ok.type = 'button';
  ok.className = 'button danger';
  ok.textContent = form.dataset.confirmOk || (document.documentElement.lang === 'en' ? 'Go ahead' : '実行する');
  buttons.append(cancel, ok);
  dialog.append(text, note, buttons);
  document.body.append(dialog);
  const close = () => dialog.remove();
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', close);
  ok.addEventListener('click', () => {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = 'confirmed';
    input.value = 'yes';
    form.append(input);
    form.dataset.confirmed = 'yes';
    dialog.close();
    form.requestSubmit ? form.requestSubmit() : form.submit();
  });
  dialog.showModal();
  cancel.focus();
}
