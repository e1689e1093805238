// bodies.mjs — the browser's own path (issue 12): is a chunk sent slower as an
// ArrayBuffer than as a Blob slice? Run by `make bench` (bench/medboxbench,
// bodies.go) once per browser; prints one line of JSON.
//
//   node bodies.mjs --browser chrome|firefox --exec /usr/bin/chromium --file 40MiB.bin \
//        --cert page.pem --key page-key.pem [--chunks 20] [--chunk 2097152] [--conc 6] [--runs 5]
//
// A page on loopback over HTTPS, served here, chooses the file in its file input
// (as a member does) and sends it in --chunks chunks of --chunk bytes, --conc
// at once, with XMLHttpRequest PUTs like upload.js: each chunk is read and
// hashed (SHA-256) in a worker, as upload-hash.js does, and then sent either as
// the Blob slice itself (what upload.js does now: the worker's bytes are
// dropped) or as the ArrayBuffer the worker read and handed back (what it did
// before). The two alternate, after one warm-up of each; the figure is the
// time from the first slice to the last answer.
import fs from 'node:fs';
import https from 'node:https';
import puppeteer from 'puppeteer-core';

const opt = { browser: 'chrome', exec: '', file: '', cert: '', key: '', chunks: 20, chunk: 2 << 20, conc: 6, runs: 5 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  if (!(k in opt)) throw new Error(`unknown flag --${k}`);
  opt[k] = typeof opt[k] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

const page = `<!doctype html><meta charset="utf-8"><title>bodies</title><input type="file" id="f"><script src="/page.js"></script>`;

const pageJS = `
const worker = new Worker('/worker.js');
const pending = new Map();
let seq = 0;
worker.onmessage = (e) => { const p = pending.get(e.data.id); pending.delete(e.data.id); p(e.data); };
function hash(blob, back) {
  return new Promise((resolve) => { const id = ++seq; pending.set(id, resolve); worker.postMessage({ id, blob, back }); });
}
function put(body, digest) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', '/chunk');
    xhr.setRequestHeader('Content-Digest', 'sha-256=:' + digest + ':');
    xhr.upload.onprogress = () => {}; // upload.js follows progress too
    xhr.onload = () => (xhr.status === 204 ? resolve() : reject(new Error('status ' + xhr.status)));
    xhr.onerror = () => reject(new Error('network error'));
    xhr.send(body);
  });
}
window.trial = async (kind, chunks, size, conc) => {
  const file = document.getElementById('f').files[0];
  if (!file || file.size < chunks * size) throw new Error('no file, or too small');
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < chunks) {
      const n = next++;
      const blob = file.slice(n * size, (n + 1) * size);
      const r = await hash(blob, kind === 'arraybuffer');
      await put(kind === 'arraybuffer' ? r.buf : blob, r.digest);
    }
  };
  await Promise.all(Array.from({ length: conc }, lane));
  return performance.now() - t0;
};
`;

const workerJS = `
self.onmessage = async (e) => {
  const { id, blob, back } = e.data;
  const buf = await blob.arrayBuffer();
  const d = new Uint8Array(await self.crypto.subtle.digest('SHA-256', buf));
  let s = '';
  for (let i = 0; i < d.length; i++) s += String.fromCharCode(d[i]);
  if (back) self.postMessage({ id, buf, digest: btoa(s) }, [buf]);
  else self.postMessage({ id, digest: btoa(s) });
};
`;

let received = 0;
const server = https.createServer({ cert: fs.readFileSync(opt.cert), key: fs.readFileSync(opt.key) }, (req, res) => {
  if (req.method === 'PUT' && req.url === '/chunk') {
    req.on('data', (b) => (received += b.length));
    req.on('end', () => {
      res.writeHead(204);
      res.end();
    });
    return;
  }
  const body = { '/': [page, 'text/html'], '/page.js': [pageJS, 'text/javascript'], '/worker.js': [workerJS, 'text/javascript'] }[req.url];
  if (!body) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { 'Content-Type': body[1] + '; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body[0]);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `https://127.0.0.1:${server.address().port}/`;

const browser = await puppeteer.launch({
  browser: opt.browser,
  executablePath: opt.exec,
  headless: true,
  acceptInsecureCerts: true,
  args: opt.browser === 'chrome' ? ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] : [],
});
const out = { browser: opt.browser, version: await browser.version(), blob: [], arraybuffer: [], bytes: 0 };
try {
  const tab = await browser.newPage();
  await tab.goto(url);
  const input = await tab.waitForSelector('#f');
  await input.uploadFile(opt.file);
  const run = (kind) => tab.evaluate((k, c, s, n) => window.trial(k, c, s, n), kind, opt.chunks, opt.chunk, opt.conc);
  await run('blob');
  await run('arraybuffer');
  received = 0;
  for (let i = 0; i < opt.runs; i++) {
    for (const kind of i % 2 === 0 ? ['blob', 'arraybuffer'] : ['arraybuffer', 'blob']) {
      out[kind].push(Math.round(await run(kind)));
    }
  }
  out.bytes = received;
} finally {
  await browser.close();
  server.close();
}
if (out.bytes !== 2 * opt.runs * opt.chunks * opt.chunk) {
  throw new Error(`the server received ${out.bytes} bytes, want ${2 * opt.runs * opt.chunks * opt.chunk}`);
}
console.log(JSON.stringify(out));
