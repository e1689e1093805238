// upload.js — the browser side of the upload protocol (ARCHITECTURE §5, R-T1).
//
// Every file chosen on the box page is cut into the server's chunks, and ONE pool
// of concurrent PUTs, shared by all files of the page, sends them. The pool is
// spread over the upload origins the page names (data-upload-origins): extra
// HTTP/1.1 host names (or ports) of the same instance, each its own set of up to
// six browser connections, so that on a lossy long-distance link the chunks
// really travel on parallel TCP connections (HTTP/2 would put them all on one).
// Chunks to an upload origin carry the upload's grant in a header (the session
// cookie does not reach other host names) and go to one fixed path, naming upload
// and chunk in headers, so the browser's CORS preflight is asked once per origin
// and cached. An origin that refuses (401, 403, 404) or cannot be reached is set
// aside and its chunks go to the page's own origin: an upload never fails because
// an extra origin failed.
//
// With no upload origins the page still has two lanes to its own origin: the
// chunk URL with the session cookie (XMLHttpRequest), and the one chunk path with
// the grant and no credentials at all (fetch, credentials 'omit'). Browsers keep
// credentialed and anonymous requests in separate connection pools (Chromium by
// privacy mode, Firefox by its anonymous flag), so the second lane is six more
// TCP connections on the same origin and port: twelve, not six, through port 443
// alone with nothing to configure. Each chunk is sent as a Blob.slice of the file (never
// copied into the page, never read whole) and hashed off the main thread in
// hash-worker.js; it is retried with exponential back-off and jitter on
// network errors, 5xx and 429 (honouring Retry-After), and the pool waits while
// the browser is offline: going offline aborts the chunks in flight, which are
// sent again when it is back, and a chunk whose bytes stop moving for STALL_MS
// (a connection that died without a word) is aborted and retried. Other 4xx
// answers end that file with the server's message, which is already in the
// page's language.
//
// Resume: the upload id of each file is kept in localStorage under a hash of
// (box, name, size, lastModified) — the hash, so that file names, which may name
// a patient, are not left behind in the browser. Choosing the same file again,
// after a dropped connection or a closed tab, asks the server which chunks it has
// and sends only the rest.
//
// The rest lives beside it: texts and formats (upload-text.js), rows and the file
// list (upload-view.js), hashing (upload-hash.js, hash-worker.js) and resume state
// (upload-resume.js).

import { prepareFiles } from './deid.js';
import { Hasher } from './upload-hash.js';
import { forgetResume, loadResume, pruneResume, resumeKey, saveResume } from './upload-resume.js';
import { formatBytes, formatETA, translator } from './upload-text.js';
import { Row, addToFileList, setText } from './upload-view.js';

// DEFAULT_CONCURRENCY is how many chunk requests the page's own origin carries
// while every upload origin rests: 6 is the HTTP/1.1 per-origin connection cap of
// browsers. Otherwise the pool is PER_ORIGIN per lane, up to MAX_CONCURRENCY —
// 12 on the page's own origin alone (its credentialed and its anonymous lane),
// 72 with twelve upload origins: on a lossy long-distance link each TCP connection carries only
// a few Mbit/s, so the link fills with about 70 of them (`make bench`, see
// bench/README.md). A page may set the total with data-concurrency on #upload.
// Every chunk in flight holds its bytes in memory, so the pool also stays under
// INFLIGHT_BYTES (less on a device with little memory).
const DEFAULT_CONCURRENCY = 6;
const PER_ORIGIN = 6; // more would only queue inside the browser, with the request's timeout running
const MAX_CONCURRENCY = 96;
const INFLIGHT_BYTES = 192 * 2 ** 20;
const INFLIGHT_BYTES_SMALL_DEVICE = 64 * 2 ** 20; // navigator.deviceMemory of 2 GB or less
const ORIGIN_FAILURES = 3; // network errors in a row before an upload origin is set aside
const ORIGIN_REST_MS = 30_000; // for this long
const PREPARE_CONCURRENCY = 3; // files being created or looked up at once
const MAX_ATTEMPTS = 8; // per request; then the file stops and offers "try again"
const STALL_MS = 20_000; // no byte of a chunk moved for this long: the connection is dead
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const RETRY_AFTER_MAX_MS = 5 * 60_000;
const TICK_MS = 250;
const SPEED_TAU_S = 3; // time constant of the smoothed speed
const SPEED_WARMUP_TICKS = 4; // show a speed only after a second of data

const section = document.getElementById('upload');
if (section) {
  new Uploader(section).start();
}

function Uploader(section) {
  const $ = (id) => document.getElementById(id);
  const box = section.dataset.box;
  const maxFiles = int(section.dataset.maxFiles, 20);
  const maxBytes = int(section.dataset.maxBytes, Infinity);
  let remaining = int(section.dataset.remaining, Infinity); // of the member's quota, as this page knows it
  const lanes = uploadLanes(section.dataset.uploadOrigins);
  const home = lanes[lanes.length - 1]; // the page's own origin with its cookie: a lane, or the fallback
  const extra = lanes.length - 1;
  const homeWorks = lanes.every((l) => l === home || l.anonymous); // no upload origins: home is in the pool
  const pooled = homeWorks ? lanes.length : extra;
  const concurrency = Math.min(PER_ORIGIN * pooled, MAX_CONCURRENCY, Math.max(1, int(section.dataset.concurrency, PER_ORIGIN * pooled)));
  const inflightLimit = navigator.deviceMemory && navigator.deviceMemory <= 2 ? INFLIGHT_BYTES_SMALL_DEVICE : INFLIGHT_BYTES;
  let inflightBytes = 0; // of the chunks being read, hashed or sent
  const t = translator($('upload-text'));
  const ui = {
    dropzone: $('dropzone'), input: $('file-input'), list: $('upload-list'), total: $('upload-total'),
    totalBar: $('total-bar'), totalText: $('total-text'), totalSpeed: $('total-speed'), error: $('upload-error'), offline: $('upload-offline'),
    done: $('upload-done'), needsJS: $('upload-needs-js'),
  };
  const hasher = new Hasher(new URL('hash-worker.js', import.meta.url));

  const items = []; // files of this page, in the order chosen
  const prepQueue = [];
  let preparing = 0;
  let activeChunks = 0;
  let moved = 0; // bytes the browser has put on the wire, for the speed
  const onlineWaiters = []; // woken when the browser is back online
  const retryWaiters = new Set(); // retries after a network error, woken then too
  const ticker = { timer: null, last: 0, moved: 0, speed: 0, samples: 0 };

  this.start = () => {
    if (ui.needsJS) ui.needsJS.hidden = true;
    if (ui.dropzone) ui.dropzone.hidden = false;
    pruneResume();
    ui.input.addEventListener('change', () => {
      const files = [...ui.input.files];
      ui.input.value = ''; // choosing the same file again must fire change again
      addFiles(files);
    });
    const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
    for (const type of ['dragenter', 'dragover']) {
      ui.dropzone.addEventListener(type, (e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        ui.dropzone.classList.add('dragging');
      });
    }
    ui.dropzone.addEventListener('dragleave', (e) => {
      if (!ui.dropzone.contains(e.relatedTarget)) ui.dropzone.classList.remove('dragging');
    });
    ui.dropzone.addEventListener('drop', (e) => {
      e.preventDefault();
      ui.dropzone.classList.remove('dragging');
      addFiles([...e.dataTransfer.files]);
    });
    // A file dropped beside the zone must not make the browser leave the page.
    for (const type of ['dragover', 'drop']) {
      window.addEventListener(type, (e) => {
        if (hasFiles(e) && !ui.dropzone.contains(e.target)) {
          e.preventDefault();
          e.dataTransfer.dropEffect = 'none';
        }
      });
    }
    window.addEventListener('offline', () => {
      // The chunks in flight cannot arrive; their connections may not even
      // fail, only hang. They go back to the queue and are sent when online.
      for (const it of items) {
        for (const xhr of [...it.xhrs]) {
          xhr.requeue = true;
          xhr.abort();
        }
      }
      render();
    });
    window.addEventListener('online', () => {
      // Errors just before the browser noticed the outage were the outage, not
      // the upload origins: each gets its chance again.
      for (const lane of lanes) {
        lane.failures = 0;
        lane.restUntil = 0;
      }
      for (const it of items) it.attempts.clear();
      for (const wake of onlineWaiters.splice(0)) wake();
      for (const wake of [...retryWaiters]) wake(); // the network is back: no reason to wait longer
      pump();
    });
  };

  // addFiles takes a selection: it refuses it whole when it would pass the box's
  // or the member's limits, marks empty files, and queues the rest.
  async function addFiles(files) {
    if (files.length === 0) return;
    showError('');
    for (const it of items.filter((i) => i.state === 'done')) forgetItem(it); // a new batch starts
    ui.done.hidden = true;
    // De-identification and photo metadata removal (deid.js) turn each File into
    // the one to send, or refuse it with a message, before anything is queued.
    const prepared = await prepareFiles(files, t);
    if (!prepared) return;
    const chosen = [];
    for (const { file, refused, note } of prepared) {
      const key = await resumeKey(box, file);
      const same = key ? items.find((i) => i.key === key && i.state !== 'done') : null;
      if (same && same.state !== 'failed') continue; // already on its way
      if (same) {
        // Chosen again after it failed: this try replaces the row, and resumes
        // its upload if the server still has it.
        release(same);
        forgetItem(same);
      }
      chosen.push({ file, key, stored: key && !refused ? loadResume(key) : null, refused, note });
    }
    const sendable = chosen.filter((c) => c.file.size > 0 && !c.refused);
    const fresh = sendable.filter((c) => !c.stored); // a stored upload has its reservation already
    const inBox = document.querySelectorAll('#files li.file').length + items.filter((i) => i.holdsSlot()).length;
    const freshBytes = fresh.reduce((n, c) => n + c.file.size, 0);
    if (sendable.length > 0 && fresh.length > maxFiles - inBox) {
      return showError(t('upload.too_many_files', { Max: maxFiles, Left: Math.max(0, maxFiles - inBox) }));
    }
    if (freshBytes > maxBytes) {
      return showError(t('upload.too_large', { Max: formatBytes(maxBytes) }));
    }
    if (freshBytes > remaining) {
      return showError(t('upload.quota', { Left: formatBytes(Math.max(0, remaining)) }));
    }
    for (const c of chosen) {
      const it = new Item(c.file, c.key, c.stored);
      items.push(it);
      ui.list.append(it.row.el);
      if (c.note) it.row.note(c.note);
      if (c.refused) {
        fail(it, c.refused, { retryable: false });
        continue;
      }
      if (c.file.size === 0) {
        fail(it, t('upload.empty'), { retryable: false });
        continue;
      }
      if (!c.stored) {
        remaining -= it.size;
        it.counted = true;
      }
      if (!c.stored && isDuplicate(it)) {
        // The same name and size is in the box already (or on its way): say so,
        // and send it only if the person wants a second copy.
        setState(it, 'duplicate');
        it.row.ask(t('upload.duplicate'), t('upload.send_again'), t('upload.skip'), () => {
          it.row.note('');
          setState(it, 'waiting');
          prepQueue.push(it);
          runPrep();
        }, () => {
          remaining += it.size;
          it.state = 'cancelled';
          forgetItem(it);
          tick();
        });
        continue;
      }
      prepQueue.push(it);
    }
    runPrep();
    tick();
  }

  // isDuplicate reports whether a file of it's name and size is in the box or in
  // this page's list already.
  function isDuplicate(it) {
    const name = it.file.name;
    const inBox = [...document.querySelectorAll('#files li.file')].some((li) => li.dataset.name === name && li.dataset.size === String(it.size));
    return inBox || items.some((o) => o !== it && o.file.name === name && o.size === it.size && o.state !== 'failed' && o.state !== 'cancelled');
  }

  function runPrep() {
    while (preparing < PREPARE_CONCURRENCY && prepQueue.length > 0) {
      const it = prepQueue.shift();
      if (it.state !== 'waiting') continue;
      preparing++;
      prepare(it).finally(() => {
        preparing--;
        runPrep();
      });
    }
  }

  // prepare finds the upload of it on the server — the one it had, or a new one —
  // and starts sending what the server does not have yet.
  async function prepare(it) {
    setState(it, 'checking');
    const known = it.id || (it.stored && it.stored.id);
    if (known) {
      const r = await api('GET', '/api/v1/uploads/' + encodeURIComponent(known), null, it);
      if (it.state !== 'checking') return;
      if (r.status === 200 && r.data && r.data.size === it.size && r.data.box === box) {
        if (!it.id) {
          it.resumed = true;
          it.counted = true; // reserved before this page was loaded
          it.row.el.dataset.resumed = 'true';
          it.row.note(t('upload.resumed'));
        }
        adopt(it, r.data);
        return startSending(it);
      }
      if (r.status !== 200 && r.status !== 404) return fail(it, r.message, { retryable: r.retryable });
      if (r.status === 200) discard(known); // not this file after all
      if (r.status === 404) {
        // Completed, with the answer lost (here or on an earlier page)? Then the
        // file is in the box already and must not be sent twice.
        const f = await findCompleted(it, !it.id);
        if (it.state !== 'checking') return;
        if (f) return finished(it, f);
      }
      forgetResume(it.key); // gone (swept, aborted) or not this file: start afresh
      if (it.id) release(it);
      it.id = null;
    }
    if (!it.counted) {
      remaining -= it.size;
      it.counted = true;
    }
    const body = { name: it.file.name, size: it.size };
    if (it.file.type) body.content_type = it.file.type;
    const r = await api('POST', '/api/v1/boxes/' + encodeURIComponent(box) + '/uploads', body, it);
    if (it.state !== 'checking') {
      if (r.status === 201) discard(r.data.id); // cancelled while being created
      return;
    }
    if (r.status !== 201) {
      release(it);
      return fail(it, r.message, { retryable: r.retryable });
    }
    adopt(it, { ...r.data, received: [] });
    startSending(it);
  }

  function adopt(it, u) {
    it.id = u.id;
    it.chunkSize = u.chunk_size;
    it.chunkCount = u.chunk_count;
    it.serverName = u.name;
    it.done = new Set(u.received);
    it.grant = u.upload_grant || '';
    it.acked = 0;
    for (const n of it.done) it.acked += chunkLength(it, n);
    it.queue = [];
    for (let n = 0; n < it.chunkCount; n++) if (!it.done.has(n)) it.queue.push(n);
    it.attempts.clear();
    it.completeTries = 0;
    saveResume(it.key, it.id);
  }

  function startSending(it) {
    setState(it, 'sending');
    if (it.queue.length === 0) return complete(it);
    pump();
  }

  // pump fills the one pool of chunk requests, taking chunks of the earliest
  // file first, so files finish one after another, and giving each to the
  // least busy lane.
  function pump() {
    if (!navigator.onLine) return;
    while (activeChunks < concurrency) {
      const lane = pickLane();
      if (!lane) break;
      const it = items.find((i) => i.state === 'sending' && i.queue.length > 0);
      if (!it) break;
      const bytes = chunkLength(it, it.queue[0]);
      if (activeChunks > 0 && inflightBytes + bytes > inflightLimit) break;
      const n = it.queue.shift();
      activeChunks++;
      inflightBytes += bytes;
      lane.active++;
      sendChunk(it, n, lane).finally(() => {
        activeChunks--;
        inflightBytes -= bytes;
        lane.active--;
        pump();
      });
    }
    tick();
  }

  // pickLane returns the upload origin with the fewest chunks in flight that
  // can take one more, or null. An origin not yet known to work (a firewall may
  // block its port) gets one chunk until bytes flow; one that failed repeatedly
  // rests, and while every upload origin rests the page's own origin carries
  // the chunks.
  function pickLane() {
    const now = Date.now();
    let best = null;
    let resting = 0;
    for (const lane of lanes) {
      if (lane === home && !homeWorks) continue;
      if (lane.restUntil > now) {
        resting++;
        continue;
      }
      const cap = lane.proven ? PER_ORIGIN : 1;
      if (lane.active < cap && (!best || lane.active < best.active)) best = lane;
    }
    if (!homeWorks && resting === extra && home.active < DEFAULT_CONCURRENCY) best = home;
    return best;
  }

  // laneResult records how a request on lane went: status 0 is a network error,
  // and a 5xx from an upload origin counts as one (a balancer that does not know
  // the name answers 502 or 503). The page's own origin is never set aside: it is
  // the last resort, and its errors are the network's, which the chunks'
  // back-off already paces.
  function laneResult(lane, status) {
    if (status < 0 || !navigator.onLine) return;
    if (lane !== home && status >= 500) status = 0;
    if (status !== 0) {
      lane.failures = 0;
      if (!lane.proven) {
        lane.proven = true;
        pump();
      }
      return;
    }
    if (lane === home) return;
    if (++lane.failures >= ORIGIN_FAILURES) {
      lane.failures = 0;
      lane.proven = false;
      lane.restUntil = Date.now() + ORIGIN_REST_MS;
      setTimeout(pump, ORIGIN_REST_MS + 10);
    }
  }

  async function sendChunk(it, n, lane) {
    const start = n * it.chunkSize;
    const end = Math.min(start + it.chunkSize, it.size);
    let chunk;
    try {
      chunk = await hasher.hash(it.file.slice(start, end));
    } catch {
      if (it.state === 'sending') fail(it, t('upload.unreadable'), { retryable: false, discard: true });
      return;
    }
    if (it.state !== 'sending') return;
    const { status, xhr } = await put(it, n, chunk, lane);
    it.inflight.delete(n);
    if (lane !== home && (status === 401 || status === 403 || status === 404)) {
      // The upload origin refuses: a grant that ended is asked for again once;
      // otherwise the origin is set aside for this page and the chunk goes on
      // elsewhere, its attempt not counted.
      const code = parseJSON(xhr.responseText)?.error?.code;
      if (code === 'bad_grant' && (await renewGrant(it))) lane.failures = 0;
      else refuse(lane);
      if (it.state === 'sending') it.queue.unshift(n);
      pump();
      return;
    }
    laneResult(lane, status);
    if (status === -2 && it.state === 'sending') it.queue.unshift(n); // pump sends it when online
    if (it.state !== 'sending' || status < 0) return;
    if (status >= 200 && status < 300) {
      if (!it.done.has(n)) {
        it.done.add(n);
        it.acked += end - start;
      }
      if (it.done.size === it.chunkCount) complete(it);
      return;
    }
    const data = parseJSON(xhr.responseText);
    const code = data && data.error && data.error.code;
    const transient = status === 0 || status === 408 || status === 429 || status >= 500 || code === 'digest_mismatch' || code === 'chunk_busy';
    if (!transient) {
      if (status === 404) {
        forgetResume(it.key);
        release(it);
      }
      return fail(it, errorMessage(data), { retryable: false, discard: status === 400 });
    }
    if (!navigator.onLine) {
      it.queue.unshift(n); // sent again when the browser is back online
      return;
    }
    const tries = (it.attempts.get(n) || 0) + 1;
    it.attempts.set(n, tries);
    if (tries >= MAX_ATTEMPTS) return fail(it, t('upload.gave_up'), { retryable: true });
    // The chunk leaves the pool while it waits, so that others go on.
    pause(it, retryAfter(xhr.getResponseHeader('Retry-After')) ?? backoff(tries), status === 0).then(() => {
      if (it.state === 'sending') {
        it.queue.unshift(n);
        pump();
      }
    });
  }

  // refuse sets an upload origin aside for the rest of this page: it answered
  // that it will not take chunks (a host the balancer does not serve, a grant it
  // cannot check).
  function refuse(lane) {
    lane.proven = false;
    lane.restUntil = Infinity;
  }

  // renewGrant asks the page's own origin for a new grant for it (the old one
  // ended), at most once at a time per file; it resolves true if there is one.
  function renewGrant(it) {
    if (!it.renewing) {
      it.renewing = api('GET', '/api/v1/uploads/' + encodeURIComponent(it.id), null, it).then((r) => {
        it.renewing = null;
        if (r.status !== 200 || !r.data.upload_grant || r.data.upload_grant === it.grant) return false;
        it.grant = r.data.upload_grant;
        return true;
      });
    }
    return it.renewing;
  }

  // put sends one chunk with XMLHttpRequest, for its upload progress: to the
  // page's own origin at the chunk's URL, with the session cookie; to an upload
  // origin at its one chunk path, with the grant and the upload and chunk in
  // headers. The body is a slice of the file, which the browser reads as it
  // sends. It resolves with the status: 0 for a network error, a timeout or a
  // stall, -1 when cancelled here, -2 when aborted because the browser went
  // offline.
  function put(it, n, chunk, lane) {
    if (lane.anonymous) return putAnonymous(it, n, chunk);
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      let sent = 0;
      let stall = 0;
      const watch = () => {
        clearTimeout(stall);
        stall = setTimeout(() => {
          xhr.stalled = true;
          xhr.abort();
        }, STALL_MS);
      };
      if (lane === home) {
        xhr.open('PUT', '/api/v1/uploads/' + encodeURIComponent(it.id) + '/chunks/' + n);
      } else {
        xhr.open('PUT', lane.origin + '/api/v1/chunk');
        xhr.setRequestHeader('Medbox-Upload', it.id);
        xhr.setRequestHeader('Medbox-Chunk', String(n));
        xhr.setRequestHeader('Medbox-Upload-Grant', it.grant);
      }
      if (chunk.digest) xhr.setRequestHeader('Content-Digest', 'sha-256=:' + chunk.digest + ':');
      xhr.timeout = 60_000 + chunk.body.size / 16; // at least 16 KB/s after a minute
      xhr.upload.onprogress = (e) => {
        moved += e.loaded - sent;
        sent = e.loaded;
        it.inflight.set(n, e.loaded);
        if (!e.lengthComputable || e.loaded < e.total) watch();
        else clearTimeout(stall); // all sent: the answer may take a while (xhr.timeout)
        if (e.loaded > 0 && !lane.proven) {
          lane.proven = true; // connected, and past the preflight: give it its share
          pump();
        }
      };
      const finish = (status) => {
        clearTimeout(stall);
        it.xhrs.delete(xhr);
        resolve({ status, xhr });
      };
      xhr.onload = () => {
        moved += Math.max(0, chunk.body.size - sent);
        finish(xhr.status);
      };
      xhr.onerror = () => finish(0);
      xhr.ontimeout = () => finish(0);
      xhr.onabort = () => finish(xhr.stalled ? 0 : xhr.requeue ? -2 : -1);
      it.xhrs.add(xhr);
      it.inflight.set(n, 0);
      watch();
      xhr.send(chunk.body);
    });
  }

  // putAnonymous sends one chunk to the page's own origin as put sends it to an
  // upload origin, but with fetch and no credentials (XMLHttpRequest always sends
  // the cookie to its own origin), so that the browser opens other connections
  // for it. fetch reports no upload progress: the chunk counts when answered, and
  // a deadline (as put's timeout) stands in for the stall watch. The handle in
  // it.xhrs answers abort() as an XMLHttpRequest does.
  async function putAnonymous(it, n, chunk) {
    const ctl = new AbortController();
    const handle = { abort: () => ctl.abort(), requeue: false, stalled: false };
    const deadline = setTimeout(() => {
      handle.stalled = true;
      ctl.abort();
    }, 60_000 + chunk.body.size / 16);
    it.xhrs.add(handle);
    it.inflight.set(n, 0);
    const headers = { 'Medbox-Upload': it.id, 'Medbox-Chunk': String(n), 'Medbox-Upload-Grant': it.grant };
    if (chunk.digest) headers['Content-Digest'] = 'sha-256=:' + chunk.digest + ':';
    let status;
    let answer = { responseText: '', getResponseHeader: () => null };
    try {
      const r = await fetch('/api/v1/chunk', { method: 'PUT', body: chunk.body, headers, credentials: 'omit', cache: 'no-store', signal: ctl.signal });
      const text = await r.text();
      status = r.status;
      answer = { responseText: text, getResponseHeader: (h) => r.headers.get(h) };
      moved += chunk.body.size;
    } catch {
      status = handle.stalled ? 0 : handle.requeue ? -2 : ctl.signal.aborted ? -1 : 0;
    }
    clearTimeout(deadline);
    it.xhrs.delete(handle);
    return { status, xhr: answer };
  }

  async function complete(it) {
    setState(it, 'finishing');
    const r = await api('POST', '/api/v1/uploads/' + encodeURIComponent(it.id) + '/complete', null, it);
    if (it.state !== 'finishing') return;
    if (r.status === 201) return finished(it, r.data.file);
    const err = (r.data && r.data.error) || {};
    if (r.status === 409 && err.code === 'chunks_missing' && it.completeTries++ < 3) {
      for (const n of err.missing || []) {
        if (it.done.delete(n)) it.acked -= chunkLength(it, n);
        it.queue.push(n);
      }
      return startSending(it);
    }
    if (r.status === 404 && r.retried) {
      // An earlier attempt may have completed it and only the answer was lost.
      const f = await findCompleted(it, false);
      if (it.state !== 'finishing') return;
      if (f) return finished(it, f);
    }
    if (r.status === 404 || r.status === 415) {
      forgetResume(it.key); // refused or gone: nothing of it is left on the server
      release(it);
    }
    fail(it, r.message, { retryable: r.retryable });
  }

  // findCompleted looks in the box for the file it would have become: same name
  // and size, and, unless listed is true, not on the page already.
  async function findCompleted(it, listed) {
    const r = await api('GET', '/api/v1/boxes/' + encodeURIComponent(box), null, null);
    if (r.status !== 200 || !r.data) return null;
    const onPage = new Set([...document.querySelectorAll('#files li.file')].map((li) => li.dataset.id));
    const name = it.serverName || it.file.name;
    const files = (r.data.files || []).filter((f) => f.name === name && f.size === it.size && (listed || !onPage.has(f.id)));
    return files.length > 0 ? files[files.length - 1] : null;
  }

  function finished(it, file) {
    forgetResume(it.key);
    it.acked = it.size;
    setState(it, 'done');
    addToFileList(file, box, t);
    if (items.every((i) => i.state === 'done')) ui.done.hidden = false;
    tick();
  }

  function fail(it, message, { retryable = false, discard: drop = false } = {}) {
    stop(it);
    it.retryable = retryable;
    setState(it, 'failed');
    it.row.message(message);
    if (drop && it.id) {
      discard(it.id);
      forgetResume(it.key);
      release(it);
      it.id = null;
    }
    tick();
  }

  // cancel stops a file and aborts its upload. One being created is discarded
  // by prepare when the answer comes.
  function cancel(it) {
    const id = it.id || (it.stored && it.stored.id);
    stop(it);
    setState(it, 'cancelled');
    forgetItem(it);
    forgetResume(it.key);
    release(it);
    if (id) discard(id);
    tick();
  }

  function retry(it) {
    it.row.message('');
    it.attempts.clear();
    setState(it, 'waiting');
    prepQueue.push(it);
    runPrep();
  }

  function stop(it) {
    for (const xhr of [...it.xhrs]) xhr.abort();
    it.xhrs.clear();
    it.inflight.clear();
    it.queue = [];
  }

  function forgetItem(it) {
    const i = items.indexOf(it);
    if (i >= 0) items.splice(i, 1);
    it.row.el.remove();
    if (items.length > 0 && items.every((x) => x.state === 'done')) ui.done.hidden = false;
  }

  // release gives back, in this page's account, the quota it had reserved.
  function release(it) {
    if (it.counted) remaining += it.size;
    it.counted = false;
  }

  function discard(id) {
    fetch('/api/v1/uploads/' + encodeURIComponent(id), { method: 'DELETE', credentials: 'same-origin', keepalive: true }).catch(() => {});
  }

  // api makes a JSON request, retrying network errors, 5xx and 429 with back-off
  // and waiting while offline. It resolves with {status, data, message, retryable,
  // retried}; status is 0 when it gave up on the network, -1 when it was cancelled.
  async function api(method, path, body, it) {
    const init = { method, credentials: 'same-origin', cache: 'no-store', headers: {} };
    if (body) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    for (let attempt = 1; ; attempt++) {
      if (!navigator.onLine) await online();
      if (it && (it.state === 'cancelled' || it.state === 'failed')) return { status: -1 };
      let res;
      try {
        res = await fetch(path, init);
      } catch {
        if (!navigator.onLine) {
          attempt--;
          continue;
        }
        if (attempt >= MAX_ATTEMPTS) return { status: 0, message: t('upload.gave_up'), retryable: true, retried: true };
        await pause(it, backoff(attempt), true);
        continue;
      }
      const data = await res.json().catch(() => null);
      if ((res.status === 429 || res.status >= 500) && attempt < MAX_ATTEMPTS) {
        await pause(it, retryAfter(res.headers.get('Retry-After')) ?? backoff(attempt));
        continue;
      }
      const transient = res.status === 429 || res.status >= 500;
      return { status: res.status, data, message: errorMessage(data), retryable: transient, retried: attempt > 1 };
    }
  }

  // pause waits ms before a retry, counted on it; after a network error
  // (wakeOnline) it ends early when the browser comes back online.
  async function pause(it, ms, wakeOnline = false) {
    if (it) it.backoff++;
    await new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        retryWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      if (wakeOnline) retryWaiters.add(wake);
    });
    if (it) it.backoff--;
  }

  function online() {
    return new Promise((r) => onlineWaiters.push(r));
  }

  function errorMessage(data) {
    const e = data && data.error;
    if (e && e.message) return e.message;
    return t(t.has('api.err.' + (e && e.code)) ? 'api.err.' + e.code : 'api.err.internal');
  }

  function busy() {
    return items.some((i) => ['waiting', 'checking', 'sending', 'finishing'].includes(i.state));
  }

  // tick keeps the bars, the speed and the time left moving while anything is busy.
  function tick() {
    if (busy() && !ticker.timer) {
      ticker.last = performance.now();
      ticker.moved = moved;
      ticker.timer = setInterval(sample, TICK_MS);
    }
    render();
  }

  function sample() {
    const now = performance.now();
    const dt = (now - ticker.last) / 1000;
    const delta = moved - ticker.moved;
    ticker.last = now;
    ticker.moved = moved;
    if (dt > 0 && navigator.onLine && items.some((i) => i.state === 'sending')) {
      const inst = delta / dt;
      const a = 1 - Math.exp(-dt / SPEED_TAU_S);
      ticker.speed = ticker.samples === 0 ? inst : ticker.speed + a * (inst - ticker.speed);
      ticker.samples++;
    }
    if (!busy()) {
      clearInterval(ticker.timer);
      ticker.timer = null;
      ticker.speed = 0;
      ticker.samples = 0;
    }
    render();
  }

  function render() {
    ui.offline.hidden = navigator.onLine || !busy();
    let size = 0;
    let sent = 0;
    for (const it of items) {
      const have = it.state === 'done' ? it.size : Math.min(it.size, it.acked + sum(it.inflight.values()));
      it.row.progress(it.size > 0 ? have / it.size : 0, it.state === 'done' || it.state === 'failed');
      it.row.showState(stateText(it));
      if (it.state !== 'failed' && it.state !== 'cancelled' && it.state !== 'duplicate' && it.size > 0) {
        size += it.size;
        sent += have;
      }
    }
    ui.total.hidden = size === 0;
    if (size === 0) return;
    ui.totalBar.value = sent / size;
    // The whole batch, bytes-weighted, which is why it can differ from one file's
    // row: it says so, and how many files are through.
    const counted = items.filter((i) => i.state !== 'failed' && i.state !== 'cancelled' && i.state !== 'duplicate' && i.size > 0);
    // Two lines that keep their length as the numbers change, so that the rows
    // below do not move while someone reaches for 中止: how far, and how fast.
    setText(ui.totalText, t('upload.total', { Done: counted.filter((i) => i.state === 'done').length, Files: counted.length,
      Percent: Math.floor((sent / size) * 100) }));
    let amount = formatBytes(sent) + ' / ' + formatBytes(size);
    if (busy() && ticker.samples >= SPEED_WARMUP_TICKS && ticker.speed > 0 && navigator.onLine) {
      amount += ' · ' + t('upload.speed', { Speed: formatBytes(ticker.speed), Left: formatETA(t, (size - sent) / ticker.speed) });
    }
    setText(ui.totalSpeed, amount);
  }

  function stateText(it) {
    switch (it.state) {
      case 'sending':
        if (!navigator.onLine) return t('upload.paused');
        if (it.backoff > 0 && it.inflight.size === 0) return t('upload.retrying');
        return t('upload.sending');
      case 'checking':
        return it.backoff > 0 ? t('upload.retrying') : t('upload.hashing');
      case 'finishing':
        return it.backoff > 0 ? t('upload.retrying') : t('upload.finishing');
      case 'duplicate':
        return t('upload.waiting');
      default:
        return t('upload.' + it.state);
    }
  }

  function setState(it, state) {
    it.state = state;
    it.row.state(state, it.retryable);
  }

  function showError(msg) {
    ui.error.textContent = msg;
    ui.error.hidden = msg === '';
  }

  // Item is one chosen file, with its row on the page.
  function Item(file, key, stored) {
    this.file = file;
    this.size = file.size;
    this.key = key;
    this.stored = stored;
    this.state = 'waiting';
    this.id = null;
    this.serverName = file.name;
    this.chunkSize = 0;
    this.chunkCount = 0;
    this.queue = [];
    this.done = new Set();
    this.acked = 0;
    this.inflight = new Map(); // chunk → bytes sent so far
    this.xhrs = new Set();
    this.attempts = new Map();
    this.backoff = 0; // requests waiting to be retried
    this.retryable = false;
    this.counted = false; // its size is subtracted from remaining
    this.resumed = false;
    this.completeTries = 0;
    this.row = new Row(file.name, file.size, t, { cancel: () => cancel(this), retry: () => retry(this), dismiss: () => forgetItem(this) });
    this.holdsSlot = () => this.state !== 'done' && this.state !== 'cancelled' && (this.state !== 'failed' || this.retryable);
  }
}

// uploadLanes reads data-upload-origins: one lane per origin, then the page's
// own origin ('') last. Without upload origins the page's own origin without
// credentials comes first instead (see above).
function uploadLanes(attr) {
  const lane = (origin, anonymous = false) => ({ origin, anonymous, active: 0, proven: origin === '', failures: 0, restUntil: 0 });
  const seen = new Set();
  const out = [];
  for (const o of (attr || '').split(/\s+/)) {
    let origin;
    try {
      origin = new URL(o).origin;
    } catch {
      continue;
    }
    if (origin === 'null' || origin === location.origin || seen.has(origin)) continue;
    seen.add(origin);
    out.push(lane(origin));
  }
  if (out.length === 0) out.push(lane(location.origin, true));
  out.push(lane(''));
  return out;
}

// Small helpers.

function int(s, def) {
  const n = Number.parseInt(s, 10);
  return Number.isFinite(n) ? n : def;
}

function sum(values) {
  let n = 0;
  for (const v of values) n += v;
  return n;
}

// backoff is the wait before attempt+1: exponential, capped, with full jitter
// over its upper half so that many chunks failing together do not return together.
function backoff(attempt) {
  const d = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return d / 2 + Math.random() * (d / 2);
}

// retryAfter reads a Retry-After header (seconds or an HTTP date) as milliseconds.
function retryAfter(h) {
  if (!h) return null;
  const ms = /^\d+$/.test(h.trim()) ? Number(h) * 1000 : Date.parse(h) - Date.now();
  return Number.isFinite(ms) ? Math.min(RETRY_AFTER_MAX_MS, Math.max(0, ms)) : null;
}

function chunkLength(it, n) {
  return Math.min(it.chunkSize, it.size - n * it.chunkSize);
}

function parseJSON(s) {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}
