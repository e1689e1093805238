// viewer.js — the previews page of MedBox.
//
// For a DICOM file or study it is the phone viewer: it fetches each frame in the
// compact form the server stores (16-bit grey values plus rescale and window; see
// dicom.ViewerFrame.MarshalBinary) and applies window/level itself on a canvas,
// so dragging is instant. A frame larger than the screen comes first as a
// screen-sized rendition (?size=screen, at most 1024 px a side) and then whole, so
// a large radiograph shows at once on a slow phone link; a frame beyond 4096 px,
// which the server scales down, is read again part by part at full resolution
// (?region=x,y,w,h) for the part in view when zoomed in. One finger drags the window (sideways: width, up and
// down: level) or, with the scroll tool, moves through the stack; the slider and
// buttons move through it too; two fingers pinch to zoom and pan; a double tap
// fits the image again. The focused image takes the keyboard for the same
// (arrow keys: window; PageUp/PageDown: images; see Viewer.key). Where a canvas
// cannot be used, or a frame cannot be read, it falls back to JPEGs the server
// renders (?frame=N&wc=&ww=).
//
// While a preview is being made, it looks again every few seconds and reloads
// the page when the preview is there. Header text is untrusted and only ever
// set as textContent.

const texts = readTexts();

function readTexts() {
  const el = document.getElementById('viewer-text');
  try {
    return el ? JSON.parse(el.textContent) : {};
  } catch {
    return {};
  }
}

function t(id, args = {}) {
  let s = texts[id] || id;
  for (const [k, v] of Object.entries(args)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

// waitForPreview fetches this page again, more slowly as time goes by, and
// reloads it once the preview is no longer pending.
async function waitForPreview() {
  for (let i = 0; i < 60; i++) {
    await sleep(Math.min(1000 + i * 500, 10000));
    try {
      const r = await fetch(location.href, { credentials: 'same-origin', cache: 'no-store' });
      if (r.ok && !(await r.text()).includes('id="viewer-pending"')) {
        location.reload();
        return;
      }
    } catch {
      // offline for a moment: try again
    }
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// parseFrame decodes one viewer frame: "MBVF", a JSON header, the pixels.
function parseFrame(buf) {
  const magic = new Uint8Array(buf, 0, Math.min(4, buf.byteLength));
  if (buf.byteLength < 8 || String.fromCharCode(...magic) !== 'MBVF') throw new Error('not a viewer frame');
  const dv = new DataView(buf);
  const n = dv.getUint32(4, true);
  const h = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
  const count = h.width * h.height;
  const off = 8 + n;
  if (h.kind === 'rgb') {
    if (buf.byteLength - off !== count * 3) throw new Error('bad frame length');
    return { h, rgb: new Uint8Array(buf, off, count * 3) };
  }
  if (buf.byteLength - off !== count * 2) throw new Error('bad frame length');
  let px;
  if (littleEndian()) {
    px = new Uint16Array(buf, off, count);
  } else {
    px = new Uint16Array(count);
    for (let i = 0; i < count; i++) px[i] = dv.getUint16(off + 2 * i, true);
  }
  let hi = 0;
  for (let i = 0; i < count; i++) if (px[i] > hi) hi = px[i];
  return { h, px, hi };
}

function littleEndian() {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

// windowLUT maps stored values 0..hi to grey levels with the DICOM linear (or
// sigmoid) window in modality units, inverted for MONOCHROME1.
function windowLUT(f, c, w) {
  const { slope, intercept, invert, voi_function: fn } = f.h;
  const s = slope || 1;
  const lut = new Uint8ClampedArray(f.hi + 1);
  const width = Math.max(w, 1);
  const lo = c - 0.5 - (width - 1) / 2;
  const hiEdge = c - 0.5 + (width - 1) / 2;
  for (let p = 0; p <= f.hi; p++) {
    const x = p * s + intercept;
    let g;
    if (fn === 'SIGMOID') g = 255 / (1 + Math.exp((-4 * (x - c)) / width));
    else if (x <= lo) g = 0;
    else if (x > hiEdge) g = 255;
    else g = ((x - (c - 0.5)) / (width - 1) + 0.5) * 255;
    lut[p] = invert ? 255 - g : g;
  }
  return lut;
}

const PRESET_MODALITIES = new Set(['CT', '']);
const BUDGET = 384 << 20; // bytes of frames kept in memory
const PARALLEL = 4;
const MAX_REGION = 4096; // the longest side of a region the server decodes (dicom.MaxRegionSide)
const SCREEN_SIDE = 1024; // the longest side of a screen-sized rendition (dicom.ScreenMaxSide)

// frameBytes is what a parsed frame holds in memory.
function frameBytes(f) {
  return (f.px || f.rgb).byteLength;
}

// source returns the part of the frame's own pixels that f shows (x, y, w, h)
// and the frame's own size: all of it for a frame (perhaps scaled), a part at
// full resolution for a region.
function source(f) {
  const sw = f.h.source_width || f.h.width;
  const sh = f.h.source_height || f.h.height;
  const r = f.h.region && f.h.region[2] > 0 ? f.h.region : [0, 0, sw, sh];
  return { sw, sh, x: r[0], y: r[1], w: r[2], h: r[3] };
}

// scaledDown reports whether f has fewer pixels than the part of the frame it shows.
function scaledDown(f) {
  const s = source(f);
  return f.h.width < s.w || f.h.height < s.h;
}

class Viewer {
  constructor(root) {
    this.root = root;
    this.file = root.dataset.file;
    this.el = (id) => document.getElementById(id);
    this.stage = this.el('dv-stage');
    this.canvas = this.el('dv-canvas');
    this.fallback = this.el('dv-fallback');
    this.slider = this.el('dv-slider');
    this.stack = [];
    this.index = 0;
    this.frames = new Map(); // stack index → parsed frame (screen-sized until the whole frame is here)
    this.loading = new Map(); // stack index → promise
    this.upgrading = new Set(); // stack indices whose whole frame is being fetched
    this.region = null; // {i, f, canvas}: a part of slice i at full resolution, drawn over it
    this.regionWant = null; // the region being fetched, as a URL
    this.failed = new Set();
    this.bytes = 0;
    this.win = null; // {c, w} chosen by the user; null: each frame's own
    this.preset = 'auto';
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.tool = 'window';
    this.pointers = new Map();
    this.mode = 'canvas';
    this.draws = 0;
    this.frameSize = null;
  }

  async start() {
    this.fallback.addEventListener('load', () => this.mark('firstPaintMs'), { once: true });
    if (this.fallback.complete && this.fallback.naturalWidth > 0) this.mark('firstPaintMs');
    this.ctx = this.canvas.getContext('2d');
    if (!this.ctx) this.mode = 'fallback';
    // The file's first frame is (almost always) the first one shown: ask for it
    // together with the description instead of after it.
    if (this.mode === 'canvas') {
      this.early = this.fetchFrame(this.file, 0, '&size=screen');
      this.early.catch(() => {}); // if it is never used, its failure does not matter
    }
    let info;
    try {
      const r = await fetch(`/api/v1/files/${encodeURIComponent(this.file)}/dicom`, { credentials: 'same-origin' });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      info = await r.json();
    } catch {
      this.status(t('viewer.load_failed'));
      return;
    }
    if (info.status !== 'ready' || info.stack.length === 0) {
      this.status(t(info.status === 'failed' ? 'viewer.cannot_preview' : 'viewer.pending'));
      return;
    }
    this.info = info;
    this.stack = info.stack;
    this.index = Math.min(Math.max(info.start, 0), this.stack.length - 1);
    this.buildControls();
    this.bindGestures();
    if (this.mode === 'canvas') {
      this.off = document.createElement('canvas');
      this.offCtx = this.off.getContext('2d');
      new ResizeObserver(() => this.resize()).observe(this.stage);
      this.resize();
    }
    this.show(this.index);
  }

  mark(name) {
    if (this.root.dataset[name]) return;
    this.root.dataset[name] = String(Math.round(performance.now()));
    performance.mark?.(`medbox-viewer-${name}`);
  }

  status(msg) {
    const s = this.el('dv-status');
    s.textContent = msg || '';
    s.hidden = !msg;
  }

  buildControls() {
    this.el('dv-controls').hidden = false;
    const many = this.stack.length > 1;
    this.el('dv-frames').hidden = !many;
    this.el('dv-tool-scroll').hidden = !many;
    this.slider.max = String(this.stack.length - 1);
    this.slider.addEventListener('input', () => this.show(Number(this.slider.value)));
    this.el('dv-prev').addEventListener('click', () => this.step(-1));
    this.el('dv-next').addEventListener('click', () => this.step(1));
    this.el('dv-tool-window').addEventListener('click', () => this.setTool('window'));
    this.el('dv-tool-scroll').addEventListener('click', () => this.setTool('scroll'));
    this.el('dv-fit').addEventListener('click', () => this.fit());
    const modality = (this.info.summary && this.info.summary.modality) || '';
    const box = this.el('dv-presets');
    for (const p of this.info.presets) {
      if (!p.auto && !PRESET_MODALITIES.has(modality)) continue;
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'dv-preset';
      b.dataset.preset = p.name;
      b.textContent = p.label;
      b.setAttribute('aria-pressed', String(p.name === this.preset));
      b.addEventListener('click', () => this.applyPreset(p));
      box.append(b);
    }
    this.stage.addEventListener('keydown', (e) => this.key(e));
    document.addEventListener('keydown', (e) => {
      // Anywhere on the page but in a form field or a button, , and . move
      // through the images too (the image itself takes more keys: see key).
      if (e.target === this.stage || e.target.closest?.('input, textarea, select, button, a')) return;
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === ',') this.step(-1);
      else if (e.key === '.') this.step(1);
      else return;
      e.preventDefault();
    });
  }

  // key is the keyboard on the focused image, the equivalent of its gestures:
  // ← → narrow and widen the window, ↑ ↓ raise and lower the level (with Shift,
  // five times as far), PageUp/PageDown or , . go to the previous and next image,
  // Home/End to the first and last, + and − zoom, and 0 fits the image and
  // gives each image its own window again.
  key(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const n = e.shiftKey ? 5 : 1;
    switch (e.key) {
      case 'ArrowLeft': this.nudgeWindow(0, -n); break;
      case 'ArrowRight': this.nudgeWindow(0, n); break;
      case 'ArrowUp': this.nudgeWindow(n, 0); break;
      case 'ArrowDown': this.nudgeWindow(-n, 0); break;
      case 'PageUp': case ',': case '<': this.step(-1); break;
      case 'PageDown': case '.': case '>': this.step(1); break;
      case 'Home': this.show(0); break;
      case 'End': this.show(this.stack.length - 1); break;
      case '+': case '=': this.zoomBy(1.25); break;
      case '-': this.zoomBy(0.8); break;
      case '0': {
        const auto = this.info.presets.find((p) => p.auto);
        if (auto) this.applyPreset(auto);
        this.fit();
        break;
      }
      default: return;
    }
    e.preventDefault();
  }

  // nudgeWindow moves the level by dc steps and the width by dw steps of 2 % of
  // the frame's value range, as a short drag would (in the fallback, the server
  // draws the new window).
  nudgeWindow(dc, dw) {
    const f = this.frames.get(this.index);
    if (f?.rgb) return;
    const from = f ? this.currentWindow(f) : this.win; // as a drag takes it
    if (!from) return;
    const k = (f ? Math.max(f.h.max - f.h.min, 64) : 256) / 50;
    this.win = { c: from.c + dc * k, w: Math.max(1, from.w + dw * k) };
    this.clearPreset();
    this.redraw();
  }

  clearPreset() {
    if (this.preset === '') return;
    this.preset = '';
    for (const b of this.el('dv-presets').children) b.setAttribute('aria-pressed', 'false');
  }

  setTool(tool) {
    this.tool = tool;
    this.el('dv-tool-window').setAttribute('aria-pressed', String(tool === 'window'));
    this.el('dv-tool-scroll').setAttribute('aria-pressed', String(tool === 'scroll'));
  }

  applyPreset(p) {
    this.preset = p.name;
    this.win = p.auto ? null : { c: p.center, w: p.width };
    for (const b of this.el('dv-presets').children) b.setAttribute('aria-pressed', String(b.dataset.preset === p.name));
    this.redraw();
  }

  step(d) {
    this.show(Math.min(Math.max(this.index + d, 0), this.stack.length - 1));
  }

  fit() {
    this.zoom = 1;
    this.panX = this.panY = 0;
    this.redraw();
  }

  // show makes slice i current: draws it when it is here, loads it otherwise,
  // and keeps loading its neighbours.
  show(i) {
    this.index = i;
    this.slider.value = String(i);
    this.root.dataset.index = String(i);
    const where = this.stack.length > 1 ? t('viewer.frame', { N: i + 1, Total: this.stack.length }) : '';
    this.el('dv-frame').textContent = where;
    this.slider.setAttribute('aria-valuetext', where);
    if (this.mode === 'fallback') {
      this.drawFallback();
      return;
    }
    if (this.frames.has(i)) {
      this.status('');
      this.redraw();
      this.upgrade(i);
    } else {
      this.status(t('viewer.loading'));
    }
    this.pump();
  }

  // pump keeps PARALLEL frame requests going, nearest to the current slice first.
  pump() {
    while (this.loading.size < PARALLEL) {
      const next = this.nearestMissing();
      if (next < 0) return;
      const p = this.load(next).finally(() => {
        this.loading.delete(next);
        this.pump();
      });
      this.loading.set(next, p);
    }
  }

  nearestMissing() {
    for (let d = 0; d < this.stack.length; d++) {
      for (const i of [this.index + d, this.index - d]) {
        if (i >= 0 && i < this.stack.length && !this.frames.has(i) && !this.loading.has(i) && !this.failed.has(i)) return i;
      }
      if (this.bytes > BUDGET && d > 2) return -1;
    }
    return -1;
  }

  fetchFrame(file, frame, extra = '') {
    return fetch(`/api/v1/files/${encodeURIComponent(file)}/preview?frame=${frame}&format=raw${extra}`, { credentials: 'same-origin' }).then((r) => {
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return r.arrayBuffer();
    });
  }

  async load(i) {
    const s = this.stack[i];
    try {
      let p;
      if (this.early && s.file === this.file && s.frame === 0) {
        p = this.early;
        this.early = null;
      } else {
        p = this.fetchFrame(s.file, s.frame, '&size=screen');
      }
      const f = parseFrame(await p);
      // A screen-sized rendition: the whole frame follows.
      f.screen = scaledDown(f) && Math.max(f.h.width, f.h.height) <= SCREEN_SIDE;
      this.keep(i, f);
      if (i === this.index) {
        this.status('');
        this.redraw();
        this.upgrade(i);
      }
    } catch {
      this.failed.add(i);
      if (i === this.index) {
        // This frame cannot be drawn here: let the server draw it.
        this.mode = 'fallback';
        this.drawFallback();
      }
    }
  }

  // keep puts slice i's frame f in memory, in place of what was there.
  keep(i, f) {
    const old = this.frames.get(i);
    if (old) this.bytes -= frameBytes(old);
    this.frames.set(i, f);
    this.bytes += frameBytes(f);
    this.evict();
  }

  // upgrade fetches the whole frame of slice i when only its screen-sized
  // rendition is here; the rendition stays if that fails.
  async upgrade(i) {
    const f = this.frames.get(i);
    if (!f || !f.screen || this.upgrading.has(i)) return;
    this.upgrading.add(i);
    const s = this.stack[i];
    try {
      const full = parseFrame(await this.fetchFrame(s.file, s.frame));
      if (this.frames.has(i) || Math.abs(i - this.index) <= 2) {
        this.keep(i, full);
        if (i === this.index) this.redraw();
      }
    } catch {
      // keep showing the rendition
    } finally {
      this.upgrading.delete(i);
    }
  }

  // evict forgets the frames farthest from the current one beyond the budget.
  evict() {
    if (this.bytes <= BUDGET) return;
    const far = [...this.frames.keys()].sort((a, b) => Math.abs(b - this.index) - Math.abs(a - this.index));
    for (const i of far) {
      if (this.bytes <= BUDGET || Math.abs(i - this.index) <= 2) break;
      this.bytes -= frameBytes(this.frames.get(i));
      this.frames.delete(i);
    }
  }

  currentWindow(f) {
    return this.win || { c: f.h.window_center, w: f.h.window_width };
  }

  // resize gives the canvas as many pixels as the stage has on the screen.
  // Setting a canvas's size clears it, even to the size it has: so only a real
  // change does, and then the image is drawn again at once. The observer calls
  // this during a rendering update, after the animation frame callbacks: a draw
  // left to the next animation frame would show a blank canvas meanwhile, and
  // WebKit may not run that frame until something else changes on the page.
  resize() {
    const r = this.stage.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width * dpr));
    const h = Math.max(1, Math.round(r.height * dpr));
    if (this.canvas.width === w && this.canvas.height === h) return;
    this.canvas.width = w;
    this.canvas.height = h;
    if (this.mode !== 'canvas') return;
    if (this.raf) {
      cancelAnimationFrame(this.raf);
      this.raf = 0;
    }
    this.draw();
  }

  redraw() {
    if (this.mode === 'fallback') {
      this.drawFallback();
      return;
    }
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      this.draw();
    });
  }

  // paint renders frame f into canvas (resized to f) with the window win.
  paint(f, canvas, ctx, win) {
    const { width: w, height: h } = f.h;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    let image = canvas.image; // kept: a window drag paints every animation frame
    if (!image || image.width !== w || image.height !== h) image = canvas.image = ctx.createImageData(w, h);
    const out = new Uint32Array(image.data.buffer);
    const le = littleEndian();
    if (f.rgb) {
      const px = f.rgb;
      for (let i = 0, j = 0; i < out.length; i++, j += 3) {
        out[i] = le ? (0xff000000 | (px[j + 2] << 16) | (px[j + 1] << 8) | px[j]) >>> 0 : ((px[j] << 24) | (px[j + 1] << 16) | (px[j + 2] << 8) | 0xff) >>> 0;
      }
    } else {
      const lut = windowLUT(f, win.c, win.w);
      const px = f.px;
      for (let i = 0; i < out.length; i++) {
        const g = lut[px[i]];
        out[i] = le ? (0xff000000 | (g << 16) | (g << 8) | g) >>> 0 : ((g << 24) | (g << 16) | (g << 8) | 0xff) >>> 0;
      }
    }
    ctx.putImageData(image, 0, 0);
  }

  // draw renders the current frame into an offscreen canvas at its own size,
  // then onto the stage with the zoom and pan, in the frame's own pixels (so a
  // screen-sized rendition and the whole frame sit in the same place), and a
  // region at full resolution over it when there is one.
  draw() {
    const f = this.frames.get(this.index);
    if (!f) return;
    const win = f.rgb ? null : this.currentWindow(f);
    this.paint(f, this.off, this.offCtx, win);
    if (f.rgb) {
      this.el('dv-window').textContent = '';
    } else {
      this.root.dataset.wc = String(Math.round(win.c));
      this.root.dataset.ww = String(Math.round(win.w));
      this.el('dv-window').textContent = t('viewer.window', { C: Math.round(win.c), W: Math.round(win.w) });
    }
    const src = source(f);
    const cw = this.canvas.width;
    const ch = this.canvas.height;
    const scale = Math.min(cw / src.sw, ch / src.sh) * this.zoom; // device pixels per frame pixel
    const dpr = window.devicePixelRatio || 1;
    const ox = cw / 2 + this.panX * dpr - (src.sw * scale) / 2;
    const oy = ch / 2 + this.panY * dpr - (src.sh * scale) / 2;
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, cw, ch);
    ctx.imageSmoothingEnabled = (scale * src.w) / f.h.width < 4; // zoomed far in, show the pixels as they are
    ctx.setTransform(scale, 0, 0, scale, ox, oy);
    ctx.drawImage(this.off, src.x, src.y, src.w, src.h);
    const r = this.region;
    if (r && r.i === this.index) {
      if (!r.canvas) {
        r.canvas = document.createElement('canvas');
        r.ctx = r.canvas.getContext('2d');
      }
      const rs = source(r.f);
      this.paint(r.f, r.canvas, r.ctx, r.f.rgb ? null : win);
      ctx.imageSmoothingEnabled = scale < 4;
      ctx.drawImage(r.canvas, rs.x, rs.y, rs.w, rs.h);
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (this.canvas.hidden) {
      this.canvas.hidden = false;
      this.fallback.hidden = true;
    }
    this.frameSize = { w: f.h.width, h: f.h.height };
    this.draws++;
    this.root.dataset.draws = String(this.draws);
    this.root.dataset.level = f.screen ? 'screen' : 'full';
    this.mark('firstImageMs');
    if (!f.screen) this.mark('fullImageMs');
    this.view = { scale, ox, oy, cw, ch, src, f };
    this.wantRegion();
  }

  // wantRegion asks, a moment after the view stops changing, for the part in
  // view at full resolution when the frame is scaled down (beyond 4096 px) and
  // zoomed in past its pixels.
  wantRegion() {
    clearTimeout(this.regionTimer);
    const v = this.view;
    if (!v || v.f.screen || !scaledDown(v.f) || v.scale * v.src.w <= v.f.h.width) return;
    const x0 = Math.max(0, Math.floor(-v.ox / v.scale));
    const y0 = Math.max(0, Math.floor(-v.oy / v.scale));
    const x1 = Math.min(v.src.sw, Math.ceil((v.cw - v.ox) / v.scale));
    const y1 = Math.min(v.src.sh, Math.ceil((v.ch - v.oy) / v.scale));
    if (x1 <= x0 || y1 <= y0) return;
    const r = this.region;
    if (r && r.i === this.index) {
      const rs = source(r.f);
      if (rs.x <= x0 && rs.y <= y0 && rs.x + rs.w >= x1 && rs.y + rs.h >= y1) return; // in view already
    }
    // A margin for panning, within what the server decodes at once.
    const grow = (a, b, max) => {
      const size = Math.min(MAX_REGION, Math.round((b - a) * 1.5));
      const mid = (a + b) / 2;
      const lo = Math.max(0, Math.min(Math.round(mid - size / 2), max - size));
      return [lo, Math.min(size, max - lo)];
    };
    const [x, w] = grow(x0, x1, v.src.sw);
    const [y, h] = grow(y0, y1, v.src.sh);
    const i = this.index;
    const s = this.stack[i];
    const extra = `&region=${x},${y},${w},${h}`;
    this.regionTimer = setTimeout(async () => {
      if (this.regionWant === extra) return;
      this.regionWant = extra;
      try {
        const f = parseFrame(await this.fetchFrame(s.file, s.frame, extra));
        if (i === this.index) {
          this.region = { i, f };
          this.root.dataset.region = `${x},${y},${w},${h}`;
          this.redraw();
        }
      } catch {
        // the scaled frame stays
      } finally {
        if (this.regionWant === extra) this.regionWant = null;
      }
    }, 300);
  }

  // drawFallback shows the server's JPEG of the current slice in the current
  // window.
  drawFallback() {
    const s = this.stack[this.index];
    if (!s) return;
    let url = `/api/v1/files/${encodeURIComponent(s.file)}/preview?frame=${s.frame}`;
    if (this.win) url += `&wc=${encodeURIComponent(this.win.c.toFixed(1))}&ww=${encodeURIComponent(Math.max(1, this.win.w).toFixed(1))}`;
    this.canvas.hidden = true;
    this.fallback.hidden = false;
    if (this.fallback.getAttribute('src') !== url) this.fallback.src = url;
    this.root.dataset.mode = 'fallback';
    this.status(t('viewer.fallback'));
  }

  bindGestures() {
    const st = this.stage;
    st.addEventListener('pointerdown', (e) => this.down(e));
    st.addEventListener('pointermove', (e) => this.move(e));
    for (const type of ['pointerup', 'pointercancel', 'pointerleave']) st.addEventListener(type, (e) => this.up(e));
    st.addEventListener('wheel', (e) => {
      e.preventDefault();
      if (e.ctrlKey) this.zoomBy(Math.exp(-e.deltaY / 200));
      else this.step(Math.sign(e.deltaY));
    }, { passive: false });
    st.addEventListener('contextmenu', (e) => e.preventDefault());
  }

  down(e) {
    this.stage.setPointerCapture?.(e.pointerId);
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (this.pointers.size === 1) {
      const f = this.frames.get(this.index);
      this.drag = { x: e.clientX, y: e.clientY, moved: false, win: f ? this.currentWindow(f) : this.win, index: this.index, range: f ? Math.max(f.h.max - f.h.min, 64) : 256 };
    } else if (this.pointers.size === 2) {
      this.drag = null; // a second finger turns a drag into a pinch
      this.pinch = { d: this.spread(), mid: this.midpoint(), zoom: this.zoom, panX: this.panX, panY: this.panY };
    }
  }

  move(e) {
    if (!this.pointers.has(e.pointerId)) return;
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (this.pinch && this.pointers.size >= 2) {
      const z = Math.min(Math.max((this.pinch.zoom * this.spread()) / Math.max(this.pinch.d, 1), 0.5), 20);
      const mid = this.midpoint();
      this.zoom = z;
      this.panX = this.pinch.panX + (mid.x - this.pinch.mid.x);
      this.panY = this.pinch.panY + (mid.y - this.pinch.mid.y);
      this.redraw();
      return;
    }
    const d = this.drag;
    if (!d) return;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    if (!d.moved && Math.hypot(dx, dy) < 4) return;
    d.moved = true;
    if (this.tool === 'scroll') {
      const n = Math.round((Math.abs(dy) > Math.abs(dx) ? dy : dx) / 12);
      this.show(Math.min(Math.max(d.index + n, 0), this.stack.length - 1));
      return;
    }
    if (!d.win) return;
    const k = d.range / Math.max(this.stage.clientWidth, 1);
    this.win = { c: d.win.c + dy * k, w: Math.max(1, d.win.w + dx * k) };
    this.clearPreset();
    if (this.mode === 'fallback') return; // the server draws on release
    this.redraw();
  }

  up(e) {
    if (!this.pointers.delete(e.pointerId)) return;
    if (this.pointers.size < 2) this.pinch = null;
    const d = this.drag;
    if (this.pointers.size === 0) {
      this.drag = null;
      if (d && d.moved && this.mode === 'fallback') this.drawFallback();
      if (d && !d.moved && e.type === 'pointerup') this.tap(e);
    }
  }

  // tap fits the image on a double tap.
  tap(e) {
    const now = performance.now();
    const last = this.lastTap;
    this.lastTap = { at: now, x: e.clientX, y: e.clientY };
    if (last && now - last.at < 350 && Math.hypot(e.clientX - last.x, e.clientY - last.y) < 30) {
      this.lastTap = null;
      this.fit();
    }
  }

  zoomBy(f) {
    this.zoom = Math.min(Math.max(this.zoom * f, 0.5), 20);
    this.redraw();
  }

  spread() {
    const [a, b] = [...this.pointers.values()];
    return Math.hypot(a.x - b.x, a.y - b.y);
  }

  midpoint() {
    const [a, b] = [...this.pointers.values()];
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }
}

const pending = document.getElementById('viewer-pending');
if (pending) waitForPreview();
const root = document.getElementById('viewer');
if (root) new Viewer(root).start();
