/* openvid's page: plain JavaScript over the JSON API at /api/v1 (no build step, nothing from the internet).
 *
 * Four views (search, classify, taxonomies, indexes) live in one page; the view and its inputs are in
 * the URL (?view=search&q=dog&index=default&per_video=1), so reloading or sharing a link shows the same
 * thing. Errors from the API ({error, hint}) appear in the role="alert" box at the top.
 */
"use strict";

const API = "/api/v1";
const VIEWS = ["search", "classify", "taxonomies", "indexes"];
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// -- small helpers ------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, error, hint) {
    super(error);
    this.status = status;
    this.hint = hint;
  }
}

/** fetch a JSON endpoint; throws ApiError with the server's {error, hint} on a refusal. */
async function api(path, { method = "GET", json, form, params } = {}) {
  let url = path.startsWith("/") ? path : `${API}/${path}`;
  if (params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    }
    const s = q.toString();
    if (s) url += (url.includes("?") ? "&" : "?") + s;
  }
  const init = { method, headers: { Accept: "application/json" } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (exc) {
    throw new ApiError(0, "Could not reach the server.", "Check that `openvid serve` is still running, then try again.");
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const error = (body && body.error) || `The server answered ${response.status} ${response.statusText}.`;
    let hint = body && body.hint;
    if (response.status === 401 && !hint) hint = "Log in at /login with the server's token.";
    throw new ApiError(response.status, error, hint);
  }
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fmtTime(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? `${h}:` : "") + `${mm}:${String(sec).padStart(2, "0")}`;
}
const fmtRange = (a, b) => `${fmtTime(a)}–${fmtTime(b)}`;

function fmtBytes(n) {
  if (!Number.isFinite(n)) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n < 10 && i ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

const truthy = (v) => ["1", "true", "yes", "on"].includes(String(v || "").toLowerCase());
const basename = (p) => String(p || "").split(/[\\/]/).pop();
const splitList = (text, sep) => String(text || "").split(sep).map((s) => s.trim()).filter(Boolean);

/** A stable colour for a label (the same label is the same colour everywhere). */
function labelColour(label) {
  let h = 0;
  for (const ch of String(label)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return `hsl(${h % 360} 62% 52%)`;
}

function setOptions(select, items, { keep = true, placeholder } = {}) {
  const previous = select.value;
  select.replaceChildren();
  if (placeholder !== undefined) select.append(el("option", { value: "" }, placeholder));
  for (const item of items) {
    const [value, text] = Array.isArray(item) ? item : [item, item];
    select.append(el("option", { value }, text));
  }
  if (keep && [...select.options].some((o) => o.value === previous)) select.value = previous;
}

/** Make sure `value` is one of the select's options (a value from the URL the lists don't know yet). */
function ensureOption(select, value) {
  if (value && ![...select.options].some((o) => o.value === value)) select.append(el("option", { value }, value));
  if (value !== undefined) select.value = value;
}

// -- messages -----------------------------------------------------------------------------------

function showError(exc) {
  const box = $("#alert");
  const error = exc instanceof ApiError ? exc.message : `Something went wrong: ${exc && exc.message ? exc.message : exc}`;
  $("#alert-error").textContent = error;
  $("#alert-hint").textContent = (exc && exc.hint) || "";
  $("#alert-hint").hidden = !(exc && exc.hint);
  box.hidden = false;
  if (!(exc instanceof ApiError)) console.error(exc);
}

function clearError() {
  $("#alert").hidden = true;
  $("#alert-error").textContent = "";
  $("#alert-hint").textContent = "";
}

let noticeTimer = null;
function notice(text, ms = 6000) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(noticeTimer);
  if (ms) noticeTimer = setTimeout(() => { box.hidden = true; }, ms);
}

/** Run an async action the user started: the last error message goes, a new one goes to the alert box. */
async function guarded(fn) {
  clearError();
  try {
    return await fn();
  } catch (exc) {
    showError(exc);
    return undefined;
  }
}

// -- shared lists -------------------------------------------------------------------------------

const cache = { indexes: null, taxonomies: null, taxonomy: new Map() };

async function loadIndexes(force = false) {
  if (!cache.indexes || force) cache.indexes = await api("indexes");
  return cache.indexes;
}

async function loadTaxonomies(force = false) {
  if (!cache.taxonomies || force) cache.taxonomies = await api("taxonomies");
  return cache.taxonomies;
}

async function loadTaxonomy(name, force = false) {
  if (!cache.taxonomy.has(name) || force) {
    cache.taxonomy.set(name, await api(`taxonomies/${encodeURIComponent(name)}`));
  }
  return cache.taxonomy.get(name);
}

function forgetTaxonomies() {
  cache.taxonomies = null;
  cache.taxonomy.clear();
}

async function fillIndexSelect(select, wanted) {
  const indexes = await loadIndexes();
  setOptions(select, indexes.map((i) => [i.name, `${i.name} (${i.videos} videos)`]));
  if (!indexes.length) setOptions(select, [["default", "default (empty)"]]);
  ensureOption(select, wanted || select.value || (indexes[0] && indexes[0].name) || "default");
}

async function fillTaxonomySelect(select, wanted, placeholder) {
  const list = await loadTaxonomies();
  setOptions(select, list.map((t) => [t.name, `${t.name} (${t.label_count})`]), { placeholder });
  if (wanted !== undefined) ensureOption(select, wanted);
}

// -- routing ------------------------------------------------------------------------------------

function currentParams() {
  return new URLSearchParams(location.search);
}

/** Put `params` in the address bar (a new history entry unless `replace`) and show that state. */
function navigate(params, { replace = false } = {}) {
  const clean = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "" && v !== false) clean.set(k, v === true ? "1" : String(v));
  }
  const url = `/?${clean.toString()}`;
  if (url !== location.pathname + location.search) {
    history[replace ? "replaceState" : "pushState"](null, "", url);
  }
  return route();
}

let routeCount = 0;
async function route() {
  const params = currentParams();
  const view = VIEWS.includes(params.get("view")) ? params.get("view") : "search";
  const first = routeCount++ === 0;
  for (const name of VIEWS) {
    $(`#view-${name}`).hidden = name !== view;
    const link = $(`#nav-${name}`);
    if (name === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `openvid · ${view[0].toUpperCase()}${view.slice(1)}`;
  $(`#nav-${view}`).setAttribute("href", `/?${params.toString() || "view=search"}`); // back to this view: as it was left
  if (!first) clearError();
  await guarded(() => VIEW_HANDLERS[view](params));
}

// -- search view --------------------------------------------------------------------------------

const search = {
  lastKey: null,
  seq: 0, // only the latest search's answer is shown

  async show(params) {
    const q = params.get("q") || "";
    const like = params.get("like") || "";
    $("#search-q").value = q;
    $("#search-path").value = params.get("path") || "";
    $("#search-per-video").checked = truthy(params.get("per_video"));
    if (params.get("path") || params.get("taxonomy") || truthy(params.get("per_video"))) $("#search-filters").open = true;
    await Promise.all([
      fillIndexSelect($("#search-index"), params.get("index") || undefined),
      fillTaxonomySelect($("#search-taxonomy"), params.get("taxonomy") || "", "any"),
    ]);
    await this.fillLabels(params.get("label") || "");
    const key = params.toString();
    if (!q && !like) {
      this.lastKey = null;
      $("#search-like").hidden = true;
      $("#search-results").replaceChildren();
      $("#search-status").textContent = "Type what you are looking for, then press Enter.";
      if (!first_focus_done) { first_focus_done = true; $("#search-q").focus(); }
      return;
    }
    if (key === this.lastKey) return; // the same search already on screen (e.g. back from another view)
    this.lastKey = key;
    await this.run(params);
  },

  async fillLabels(wanted) {
    const select = $("#search-label");
    const taxonomy = $("#search-taxonomy").value;
    if (!taxonomy) {
      setOptions(select, [], { placeholder: "any" });
      select.disabled = true;
      return;
    }
    const tax = await loadTaxonomy(taxonomy);
    setOptions(select, tax.labels.map((l) => l.name), { placeholder: "any" });
    select.disabled = false;
    ensureOption(select, wanted);
  },

  params() {
    const p = { view: "search", q: $("#search-q").value.trim() };
    p.index = $("#search-index").value;
    p.path = $("#search-path").value.trim();
    p.taxonomy = $("#search-taxonomy").value;
    p.label = p.taxonomy ? $("#search-label").value : "";
    p.per_video = $("#search-per-video").checked;
    return p;
  },

  submit() {
    const p = this.params();
    if (!p.q) {
      $("#search-status").textContent = "Type what you are looking for first.";
      $("#search-q").focus();
      return;
    }
    this.lastKey = null; // pressing Search again reruns it
    navigate(p);
  },

  async run(params) {
    const like = params.get("like");
    const status = $("#search-status");
    const results = $("#search-results");
    const banner = $("#search-like");
    if (like) {
      banner.hidden = false;
      $("#search-like-thumb").src = `${API}/media/thumbnails/${encodeURIComponent(like)}.jpg`;
      $("#search-like-text").textContent = params.get("like_name")
        ? `Moments like ${params.get("like_name")}` : "Moments like this one";
    } else {
      banner.hidden = true;
    }
    const seq = ++this.seq;
    results.setAttribute("aria-busy", "true");
    status.textContent = "Searching…";
    try {
      const body = await api("search", {
        params: {
          q: like ? "" : params.get("q"), like, index: params.get("index") || "default",
          per_video: truthy(params.get("per_video")) ? "true" : "", path: params.get("path"),
          taxonomy: params.get("taxonomy"), label: params.get("label"), k: params.get("k") || 24,
        },
      });
      if (seq !== this.seq) return;
      this.render(body.hits, like ? "like this one" : `for “${params.get("q")}”`);
    } catch (exc) {
      if (seq !== this.seq) return;
      this.lastKey = null; // a retry runs it again
      results.replaceChildren();
      status.textContent = "";
      throw exc;
    } finally {
      if (seq === this.seq) results.removeAttribute("aria-busy");
    }
  },

  render(hits, what) {
    const results = $("#search-results");
    $("#search-status").textContent = hits.length
      ? `${hits.length} moment${hits.length === 1 ? "" : "s"} ${what}`
      : `Nothing found ${what}. Try other words, or fewer filters.`;
    results.replaceChildren(...hits.map((hit) => this.card(hit)));
  },

  card(hit) {
    const range = fmtRange(hit.start_s, hit.end_s);
    const play = el("button", {
      type: "button", class: "card-play", "data-testid": "result-play",
      "aria-label": `Play ${hit.name} from ${fmtTime(hit.start_s)}`,
      onclick: () => player.open(hit.video, hit.start_s, hit.end_s, hit.name),
    },
    hit.thumbnail
      ? el("img", { class: "thumb", src: hit.thumbnail, alt: "", loading: "lazy", width: 320, height: 180, "data-testid": "result-thumb",
                    onerror: (e) => e.currentTarget.replaceWith(el("span", { class: "thumb thumb-missing" }, "no picture")) })
      : el("span", { class: "thumb thumb-missing" }, "no picture"),
    el("span", { class: "card-time" }, range));
    const more = el("button", {
      type: "button", class: "more-like", "data-testid": "more-like",
      "aria-label": `More like ${hit.name} ${range}`,
      disabled: hit.segment_id === null || hit.segment_id === undefined,
      onclick: () => {
        const p = this.params();
        navigate({ view: "search", like: hit.segment_id, like_name: `${hit.name} ${range}`, index: p.index,
                   per_video: p.per_video });
        window.scrollTo({ top: 0, behavior: "smooth" });
      },
    }, "More like this");
    return el("li", {
      class: "card", "data-testid": "result-card",
      onclick: (e) => { // the whole card plays (the keyboard has the play button)
        if (!e.target.closest("button, a")) player.open(hit.video, hit.start_s, hit.end_s, hit.name);
      },
      dataset: { start: hit.start_s, end: hit.end_s, segmentId: hit.segment_id ?? "", videoId: hit.video_id ?? "", name: hit.name },
    },
    play,
    el("div", { class: "card-body" },
      el("p", { class: "card-name", title: hit.path, "data-testid": "result-name" }, hit.name),
      el("p", { class: "card-meta" },
        el("span", { "data-testid": "result-range" }, range),
        el("span", { class: "score", title: "similarity score", "data-testid": "result-score" }, `score ${Number(hit.score).toFixed(3)}`)),
      more));
  },

  async likeUpload(file) {
    const form = new FormData();
    form.append("file", file);
    form.append("index", $("#search-index").value || "default");
    form.append("per_video", $("#search-per-video").checked ? "true" : "false");
    form.append("k", "24");
    $("#search-status").textContent = `Looking for moments like ${file.name}…`;
    const seq = ++this.seq;
    const body = await api("search/like", { method: "POST", form });
    if (seq !== this.seq) return;
    this.lastKey = null;
    $("#search-like").hidden = true;
    this.render(body.hits, `like ${file.name}`);
  },
};
let first_focus_done = false;

// -- player -------------------------------------------------------------------------------------

const player = {
  open(url, start, end, name) {
    const dialog = $("#player");
    const video = $("#player-video");
    const startAt = Number(start) || 0;
    $("#player-title").textContent = name || "Video";
    $("#player-info").textContent = end !== undefined ? `Playing from ${fmtTime(startAt)} (moment ${fmtRange(startAt, end)})` : "";
    video.dataset.start = String(startAt);
    const seekAndPlay = () => {
      try { video.currentTime = startAt; } catch (exc) { /* not seekable yet */ }
      const playing = video.play();
      if (playing && playing.catch) playing.catch(() => { /* autoplay refused: the controls are there */ });
    };
    if (this.pending) video.removeEventListener("loadedmetadata", this.pending);
    this.pending = null;
    if (video.getAttribute("src") === url && video.readyState >= 1) {
      seekAndPlay();
    } else {
      this.pending = seekAndPlay;
      video.addEventListener("loadedmetadata", seekAndPlay, { once: true });
      video.src = url;
      video.load();
    }
    if (!dialog.open) dialog.showModal();
    $("#player-close").focus();
  },

  /** The browser could not play the file (a codec it lacks, a file gone): say so, offer the file. */
  failed() {
    const video = $("#player-video");
    if (!video.getAttribute("src")) return;
    $("#player-info").replaceChildren(
      "This browser cannot play this file (its format or codec may be unsupported). ",
      el("a", { href: video.getAttribute("src"), download: "" }, "Download it"), " to watch it in a player.");
  },

  close() {
    const dialog = $("#player");
    if (dialog.open) dialog.close();
  },
};

// -- classify view ------------------------------------------------------------------------------

const classify = {
  file: null,
  lastResult: null,

  async show(params) {
    const source = params.get("source") === "indexed" || params.get("video") ? "indexed" : $("input[name=source]:checked").value;
    this.setSource(source);
    const wantedTax = params.get("taxonomy");
    await fillTaxonomySelect($("#classify-taxonomy"), wantedTax ?? $("#classify-taxonomy").value, "none: use the labels below");
    if (params.get("labels")) $("#classify-labels").value = params.get("labels");
    await fillIndexSelect($("#classify-index"), params.get("index") || undefined);
    await this.fillVideos(params.get("video") || undefined);
  },

  setSource(source) {
    $("#classify-source-upload").checked = source === "upload";
    $("#classify-source-indexed").checked = source === "indexed";
    $("#classify-upload").hidden = source !== "upload";
    $("#classify-indexed").hidden = source !== "indexed";
  },

  async fillVideos(wanted) {
    const index = $("#classify-index").value || "default";
    let videos = [];
    try {
      videos = await api(`indexes/${encodeURIComponent(index)}/videos`);
    } catch (exc) {
      if (exc.status !== 404) throw exc;
    }
    const select = $("#classify-video");
    setOptions(select, videos.map((v) => [String(v.id), `${v.name} (${fmtTime(v.duration_s)})`]),
      { placeholder: videos.length ? undefined : "no videos in this index" });
    if (wanted) ensureOption(select, String(wanted));
    this.videos = new Map(videos.map((v) => [String(v.id), v]));
  },

  setFile(file) {
    this.file = file;
    $("#classify-drop-text").textContent = file ? `${file.name} (${fmtBytes(file.size)}) · drop another or choose again` : "Drop a video here, or choose a file";
  },

  labelsChoice() {
    const taxonomy = $("#classify-taxonomy").value;
    const labels = splitList($("#classify-labels").value, ",");
    if (!taxonomy && !labels.length) {
      throw new ApiError(400, "Choose a taxonomy or type some labels to classify against.",
        "Labels are comma-separated, e.g. “cooking, cycling, a concert”.");
    }
    return { taxonomy, labels };
  },

  async submit() {
    clearError();
    const { taxonomy, labels } = this.labelsChoice();
    const topK = Math.max(1, Number($("#classify-topk").value) || 5);
    const multi = $("#classify-multi").checked;
    const button = $("#classify-submit");
    button.disabled = true;
    button.textContent = "Classifying…";
    try {
      let body, video = null;
      if ($("#classify-source-indexed").checked) {
        const id = $("#classify-video").value;
        if (!id) throw new ApiError(400, "This index has no videos to choose from.", "Pick another index, or upload a file.");
        video = this.videos.get(id);
        body = await api("classify", {
          method: "POST",
          json: { video_id: Number(id), taxonomy: taxonomy || null, labels: taxonomy ? null : labels, top_k: topK, multi_label: multi, segments: true },
        });
        const here = `/?${new URLSearchParams({ view: "classify", source: "indexed", index: $("#classify-index").value, video: id, ...(taxonomy ? { taxonomy } : {}) })}`;
        history.replaceState(null, "", here); // a reload shows the same video and taxonomy
        $("#nav-classify").setAttribute("href", here);
      } else {
        if (!this.file) throw new ApiError(400, "Choose or drop a video file first.", "Or switch to “An indexed video”.");
        const form = new FormData();
        form.append("file", this.file);
        if (taxonomy) form.append("taxonomy", taxonomy);
        else form.append("labels", labels.join(","));
        form.append("top_k", String(topK));
        form.append("multi_label", multi ? "true" : "false");
        form.append("segments", "true");
        body = await api("classify/upload", { method: "POST", form });
      }
      this.lastResult = { body, video, taxonomy };
      await this.render(body, video, taxonomy);
    } finally {
      button.disabled = false;
      button.textContent = "Classify";
    }
  },

  async render(body, video, taxonomy) {
    const p = body.prediction;
    $("#classify-result").hidden = false;
    $("#classify-result-title").textContent = video ? video.name : basename(p.path);
    const meta = [];
    if (p.top) meta.push(`Top label: ${p.top}`);
    if (p.rejected) meta.push("no label fits well (rejected)");
    if (p.taxonomy && p.taxonomy !== "(labels)") meta.push(`taxonomy ${p.taxonomy} v${p.taxonomy_version}`);
    for (const w of body.warnings || []) meta.push(`⚠ ${w}`);
    $("#classify-result-meta").textContent = meta.join(" · ");
    $("#classify-bars").replaceChildren(...p.labels.map((l) => this.bar(l)));
    const segments = p.segments || [];
    const wrap = $("#classify-timeline-wrap");
    wrap.hidden = segments.length < 2;
    $("#segment-detail").hidden = true;
    if (segments.length >= 2) {
      const total = segments[segments.length - 1].end_s - segments[0].start_s || 1;
      let exampleLabels = [];
      if (taxonomy) exampleLabels = (await loadTaxonomy(taxonomy, true)).labels.map((l) => l.name);
      $("#classify-timeline").replaceChildren(...segments.map((s, i) => this.block(s, i, total, video, taxonomy, exampleLabels)));
    }
  },

  bar(l) {
    const pct = Math.round(Number(l.probability) * 1000) / 10;
    return el("li", { class: "bar-row", "data-testid": "label-bar", dataset: { label: l.label, probability: l.probability } },
      el("span", { class: "bar-label" }, l.label, l.on ? el("span", { class: "badge" }, "on") : null),
      el("span", { class: "bar-track", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": pct,
                   "aria-label": `${l.label}: ${pct}%` },
        el("span", { class: "bar-fill", style: `width:${Math.max(0.5, pct)}%;background:${labelColour(l.label)}` })),
      el("span", { class: "bar-pct" }, `${pct.toFixed(1)}%`));
  },

  block(segment, i, total, video, taxonomy, exampleLabels) {
    const top = segment.labels && segment.labels[0];
    const label = top ? top.label : "?";
    const width = Math.max(3, ((segment.end_s - segment.start_s) / total) * 100);
    const text = `${fmtRange(segment.start_s, segment.end_s)} ${label}`;
    return el("li", { class: "seg", style: `flex-grow:${width};--seg:${labelColour(label)}`, "data-testid": "timeline-segment",
                      dataset: { start: segment.start_s, end: segment.end_s, label, segmentId: segment.segment_id ?? "" } },
      el("button", { type: "button", class: "seg-button", "aria-label": `Segment ${text}`, title: text,
                     onclick: (e) => this.detail(segment, video, taxonomy, exampleLabels, e.currentTarget) },
        el("span", { class: "seg-label" }, label),
        el("span", { class: "seg-time" }, fmtRange(segment.start_s, segment.end_s))));
  },

  detail(segment, video, taxonomy, exampleLabels, button) {
    $$("#classify-timeline .seg-button").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    const box = $("#segment-detail");
    const parts = [el("h4", {}, `Segment ${fmtRange(segment.start_s, segment.end_s)}`),
      el("ul", { class: "seg-labels" }, (segment.labels || []).slice(0, 5).map((l) =>
        el("li", {}, `${l.label}: ${(Number(l.probability) * 100).toFixed(1)}%`)))];
    const actions = el("div", { class: "inline" });
    if (video) {
      actions.append(el("button", { type: "button", onclick: () => player.open(video.url, segment.start_s, segment.end_s, video.name) }, "Play this segment"));
    }
    if (video && segment.segment_id !== undefined && segment.segment_id !== null && taxonomy) {
      const select = el("select", { id: "example-label", "data-testid": "example-label", "aria-label": "Label to add this segment to" },
        exampleLabels.map((n) => el("option", { value: n, selected: n === (segment.labels[0] || {}).label }, n)));
      actions.append(el("label", {}, "Add as example of ", select),
        el("button", { type: "button", id: "example-add", "data-testid": "example-add",
          onclick: () => guarded(async () => {
            const added = await api(`taxonomies/${encodeURIComponent(taxonomy)}/examples`, {
              method: "POST", json: { label: select.value, segment_id: segment.segment_id } });
            notice(`Added ${fmtRange(segment.start_s, segment.end_s)} of ${video.name} as an example of “${added.label}”.`);
          }) }, "Add"));
    } else if (video && taxonomy) {
      actions.append(el("span", { class: "muted" }, "This segment has no id, so it cannot become an example here."));
    } else if (!taxonomy) {
      actions.append(el("span", { class: "muted" }, "Classify against a taxonomy to add segments as its examples."));
    }
    box.replaceChildren(...parts, actions);
    box.hidden = false;
  },
};

// -- taxonomies view ----------------------------------------------------------------------------

let redrawing = false; // the label rows are being replaced: a focused field that goes is not "left"

/** Save a text field when it changes and when focus leaves it (once per new value); Enter in a
 * one-line field saves too. */
function commitOnLeave(input, send) {
  let sent = input.value;
  const commit = () => {
    if (redrawing || !input.isConnected || input.value === sent) return;
    sent = input.value;
    send(input.value);
  };
  input.addEventListener("change", commit);
  input.addEventListener("blur", commit);
  if (input.tagName === "INPUT") {
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); commit(); } });
  }
}

const taxonomies = {
  current: null,

  async show(params) {
    await this.renderList(params.get("name"));
    const name = params.get("name");
    if (name) await this.open(name);
    else {
      this.current = null;
      $("#tax-editor").hidden = true;
      $("#tax-empty").hidden = false;
    }
  },

  async renderList(active) {
    const list = await loadTaxonomies(true);
    const ul = $("#tax-list");
    if (!list.length) {
      ul.replaceChildren(el("li", { class: "muted" }, "No taxonomies yet."));
      return;
    }
    ul.replaceChildren(...list.map((t) => el("li", {},
      el("a", { href: `/?view=taxonomies&name=${encodeURIComponent(t.name)}`, class: "tax-link", "data-testid": "tax-item",
                dataset: { name: t.name }, "aria-current": t.name === active ? "true" : null,
                onclick: (e) => { e.preventDefault(); navigate({ view: "taxonomies", name: t.name }); } },
        el("span", {}, t.name), el("span", { class: "muted" }, `${t.label_count} label${t.label_count === 1 ? "" : "s"} · v${t.version}`)))));
  },

  async open(name) {
    const [tax, hist, examples] = await Promise.all([
      api(`taxonomies/${encodeURIComponent(name)}`),
      api(`taxonomies/${encodeURIComponent(name)}/history`),
      api(`taxonomies/${encodeURIComponent(name)}/examples`),
    ]);
    this.current = tax;
    this.renamed = new Map();
    cache.taxonomy.set(name, tax);
    $("#tax-editor").hidden = false;
    $("#tax-empty").hidden = true;
    $("#tax-editor-title").textContent = tax.name;
    $("#tax-description").textContent = tax.description || "";
    for (const fmt of ["yaml", "json", "csv"]) {
      $(`#tax-export-${fmt}`).href = `${API}/taxonomies/${encodeURIComponent(name)}/export?format=${fmt}`;
      $(`#tax-export-${fmt}`).setAttribute("aria-label", `Export ${name} as ${fmt.toUpperCase()}`);
    }
    this.renderTaxonomy(tax);
    this.renderHistory(hist);
    this.renderExamples(examples);
  },

  /** Draw the taxonomy's labels; `failed` ({label, field}): a field whose save was refused, which shows
   * the server's value again instead of what was typed (saving it again would fail again). */
  renderTaxonomy(tax, failed = null) {
    this.current = tax;
    cache.taxonomy.set(tax.name, tax);
    $("#tax-version").textContent = `version ${tax.version}`;
    // keep the focus where it was across a re-render (tabbing from field to field saves each one)
    // and what is being typed there: the row is drawn again from what the server has
    const focused = document.activeElement;
    const row = focused && focused.closest && focused.closest("#label-rows tr");
    const refused = row && failed && row.dataset.label === failed.label && focused.dataset.field === failed.field;
    const typing = row && !refused && (focused.tagName === "TEXTAREA" || (focused.tagName === "INPUT" && focused.type === "text"));
    const spot = row ? { index: [...row.parentNode.children].indexOf(row), field: focused.dataset.field,
                         value: typing ? focused.value : null, from: typing ? focused.selectionStart : 0,
                         to: typing ? focused.selectionEnd : 0 } : null;
    const names = tax.labels.map((l) => l.name);
    redrawing = true;
    try {
      $("#label-rows").replaceChildren(...tax.labels.map((l) => this.row(l, names)));
      this.restoreFocus(spot);
    } finally {
      redrawing = false;
    }
    setOptions($("#label-add-parent"), names, { placeholder: "none" });
    setOptions($("#example-upload-label"), names);
  },

  restoreFocus(spot) {
    if (spot) {
      const again = $(`#label-rows tr:nth-child(${spot.index + 1}) [data-field="${spot.field}"]`);
      if (again) {
        if (spot.value !== null) again.value = spot.value; // saved on blur if it differs (commitOnLeave)
        again.focus();
        if (spot.value !== null) again.setSelectionRange(spot.from, spot.to);
      }
    }
  },

  row(label, names) {
    const name = label.name;
    const save = (field, value, dataField = field) => this.patch(name, { [field]: value }, dataField);
    const prompts = el("textarea", { rows: Math.max(1, label.prompts.length), "data-field": "prompts", "data-testid": "label-prompts",
                                     "aria-label": `Prompts of ${name}, one per line` });
    prompts.value = label.prompts.join("\n");
    commitOnLeave(prompts, (v) => save("prompts", splitList(v, /\n/)));
    const nameInput = el("input", { type: "text", value: name, "data-field": "name", "data-testid": "label-name", "aria-label": `Name of ${name}`, required: true });
    commitOnLeave(nameInput, (v) => {
      const value = v.trim();
      if (!value) { nameInput.value = name; return; }
      if (value !== name) save("new_name", value, "name");
    });
    const synonyms = el("input", { type: "text", value: label.synonyms.join(", "), "data-field": "synonyms", "data-testid": "label-synonyms",
                                   "aria-label": `Synonyms of ${name}, comma-separated` });
    commitOnLeave(synonyms, (v) => save("synonyms", splitList(v, ",")));
    const parent = el("select", { "data-field": "parent", "data-testid": "label-parent", "aria-label": `Parent of ${name}` },
      el("option", { value: "" }, "none"),
      names.filter((n) => n !== name).map((n) => el("option", { value: n, selected: n === label.parent }, n)));
    parent.addEventListener("change", () => save("parent", parent.value || null));
    const enabled = el("input", { type: "checkbox", checked: label.enabled, "data-field": "enabled", "data-testid": "label-enabled",
                                  "aria-label": `${name} enabled` });
    enabled.addEventListener("change", () => save("enabled", enabled.checked));
    const remove = el("button", { type: "button", class: "icon danger", "data-field": "remove", "data-testid": "label-remove",
                                  "aria-label": `Remove ${name}`, title: `Remove ${name}`,
                                  onclick: () => guarded(() => this.removeLabel(name)) }, "×");
    return el("tr", { "data-testid": "label-row", dataset: { label: name }, class: label.enabled ? "" : "disabled" },
      el("td", {}, nameInput), el("td", {}, prompts), el("td", {}, synonyms), el("td", {}, parent),
      el("td", { class: "center" }, enabled), el("td", { class: "center" }, remove));
  },

  /** Save one field of one label. Saves go one at a time, in order, and a label renamed by an earlier
   * save is found under its new name (a field left while the rename was on its way). */
  patch(label, change, field) {
    this.queue = (this.queue || Promise.resolve()).then(() => this.patchNow(label, change, field));
    return this.queue;
  },

  async patchNow(label, change, field) {
    const name = this.current.name;
    const renamed = (this.renamed ||= new Map());
    while (renamed.has(label)) label = renamed.get(label);
    $("#tax-save-state").textContent = "Saving…";
    await guarded(async () => {
      try {
        const tax = await api(`taxonomies/${encodeURIComponent(name)}/labels/${encodeURIComponent(label)}`, { method: "PATCH", json: change });
        if (change.new_name && change.new_name !== label) {
          renamed.delete(change.new_name);
          renamed.set(label, change.new_name);
        }
        this.renderTaxonomy(tax);
        $("#tax-save-state").textContent = "Saved";
        await this.refreshSide();
      } catch (exc) {
        $("#tax-save-state").textContent = "Not saved";
        this.renderTaxonomy(this.current, { label, field }); // put back what the server has
        throw exc;
      }
    });
  },

  async addLabel() {
    const name = $("#label-add-name").value.trim();
    if (!name) return;
    const tax = await api(`taxonomies/${encodeURIComponent(this.current.name)}/labels`, {
      method: "POST",
      json: { name, prompts: splitList($("#label-add-prompts").value, ","), parent: $("#label-add-parent").value || null },
    });
    $("#label-add-name").value = "";
    $("#label-add-prompts").value = "";
    this.renderTaxonomy(tax);
    $("#tax-save-state").textContent = `Added “${name}”`;
    $("#label-add-name").focus();
    await this.refreshSide();
  },

  async removeLabel(label) {
    const tax = this.current;
    const children = tax.labels.filter((l) => l.parent === label).map((l) => l.name);
    let cascade = false;
    if (children.length) {
      if (!confirm(`“${label}” has sub-labels (${children.join(", ")}). Remove them too?`)) return;
      cascade = true;
    }
    const updated = await api(`taxonomies/${encodeURIComponent(tax.name)}/labels/${encodeURIComponent(label)}`,
      { method: "DELETE", params: { cascade: cascade ? "true" : "" } });
    this.renderTaxonomy(updated);
    $("#tax-save-state").textContent = `Removed “${label}”`;
    await this.refreshSide();
  },

  async refreshSide() {
    const name = this.current.name;
    forgetTaxonomies();
    cache.taxonomy.set(name, this.current);
    const [hist] = await Promise.all([api(`taxonomies/${encodeURIComponent(name)}/history`), this.renderList(name)]);
    this.renderHistory(hist);
  },

  renderHistory(hist) {
    const current = this.current.version;
    const items = [...hist].reverse().map((h) => {
      const detail = h.detail || {};
      const what = [h.action.replace(/_/g, " "), detail.label, detail.new_name ? `→ ${detail.new_name}` : null,
                    detail.version ? `v${detail.version}` : null].filter(Boolean).join(" ");
      const when = h.at ? new Date(h.at).toLocaleString() : "";
      return el("li", { "data-testid": "history-item", dataset: { version: h.version }, class: h.version === current ? "current" : "" },
        el("span", { class: "badge" }, `v${h.version}`), " ", el("span", {}, what), " ",
        el("span", { class: "muted" }, [when, h.who].filter(Boolean).join(" · ")),
        h.version === current
          ? el("span", { class: "muted" }, " (current)")
          : el("button", { type: "button", class: "small", "data-testid": "revert",
                           "aria-label": `Revert to version ${h.version}`,
                           onclick: () => guarded(async () => {
                             const tax = await api(`taxonomies/${encodeURIComponent(this.current.name)}/revert`, { method: "POST", json: { version: h.version } });
                             this.renderTaxonomy(tax);
                             $("#tax-save-state").textContent = `Reverted to version ${h.version} (now version ${tax.version})`;
                             await this.refreshSide();
                           }) }, "Revert to this version"));
    });
    $("#tax-history").replaceChildren(...items);
  },

  renderExamples(examples) {
    const ul = $("#tax-examples");
    if (!examples.length) {
      ul.replaceChildren(el("li", { class: "muted" }, "No examples yet: add segments from the Classify view, or upload a clip."));
      return;
    }
    ul.replaceChildren(...examples.map((x) => {
      const where = x.start_s !== null && x.start_s !== undefined ? ` ${fmtRange(x.start_s, x.end_s)}` : "";
      return el("li", { "data-testid": "example-item" },
        el("strong", {}, x.label), ` · ${basename(x.source_path)}${where} `,
        el("button", { type: "button", class: "small", "aria-label": `Remove the example of ${x.label} from ${basename(x.source_path)}`,
          onclick: () => guarded(async () => {
            // one id is enough: the clip goes with its rows under every encoder
            if ((x.ids || []).length) await api(`taxonomies/${encodeURIComponent(this.current.name)}/examples/${x.ids[0]}`, { method: "DELETE" });
            this.renderExamples(await api(`taxonomies/${encodeURIComponent(this.current.name)}/examples`));
          }) }, "Remove"));
    }));
  },

  async create() {
    const name = $("#tax-new-name").value.trim();
    if (!name) return;
    await api("taxonomies", { method: "POST", json: { name, description: $("#tax-new-description").value.trim() } });
    $("#tax-new-name").value = "";
    $("#tax-new-description").value = "";
    forgetTaxonomies();
    await navigate({ view: "taxonomies", name });
    $("#label-add-name").focus();
  },

  async importFile() {
    const file = $("#tax-import-file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    if ($("#tax-import-name").value.trim()) form.append("name", $("#tax-import-name").value.trim());
    form.append("replace", $("#tax-import-replace").checked ? "true" : "false");
    const tax = await api("taxonomies/import", { method: "POST", form });
    $("#tax-import").reset();
    forgetTaxonomies();
    notice(`Imported “${tax.name}” (${tax.labels.length} labels).`);
    await navigate({ view: "taxonomies", name: tax.name });
  },

  async remove() {
    const name = this.current.name;
    if (!confirm(`Delete the taxonomy “${name}” and its history?`)) return;
    await api(`taxonomies/${encodeURIComponent(name)}`, { method: "DELETE" });
    forgetTaxonomies();
    notice(`Deleted “${name}”.`);
    await navigate({ view: "taxonomies" });
  },

  async uploadExample() {
    const file = $("#example-upload-file").files[0];
    const label = $("#example-upload-label").value;
    if (!file || !label) return;
    const form = new FormData();
    form.append("label", label);
    form.append("file", file);
    await api(`taxonomies/${encodeURIComponent(this.current.name)}/examples/upload`, { method: "POST", form });
    $("#example-upload").reset();
    notice(`Added ${file.name} as an example of “${label}”.`);
    this.renderExamples(await api(`taxonomies/${encodeURIComponent(this.current.name)}/examples`));
  },
};

// -- indexes view -------------------------------------------------------------------------------

const indexes = {
  sources: new Map(), // job id -> EventSource
  jobs: new Map(), // job id -> the latest summary shown

  async show(params) {
    const [list, roots, jobs] = await Promise.all([loadIndexes(true), api("roots"), api("jobs")]);
    this.renderIndexes(list);
    this.renderRoots(roots.allow_roots || []);
    for (const job of jobs) this.renderJob(job);
    for (const job of jobs) if (job.state === "running") this.follow(job.id);
    const open = params.get("index");
    if (open) await this.openVideos(open);
    else $("#index-videos-panel").hidden = true;
  },

  renderIndexes(list) {
    const rows = list.map((i) => el("tr", { "data-testid": "index-row", dataset: { name: i.name } },
      el("th", { scope: "row" }, i.name), el("td", { class: "model" }, i.model),
      el("td", { "data-testid": "index-videos-count" }, String(i.videos)), el("td", {}, String(i.segments)),
      el("td", {}, fmtBytes(i.bytes_on_disk)),
      el("td", { class: "actions" },
        el("button", { type: "button", class: "small", "aria-label": `Videos of ${i.name}`,
                       onclick: () => navigate({ view: "indexes", index: i.name }) }, "Videos"),
        el("a", { class: "button small", href: `/?view=search&index=${encodeURIComponent(i.name)}`,
                  "aria-label": `Search ${i.name}`, "data-view-link": "search" }, "Search"))));
    $("#index-rows").replaceChildren(...(rows.length ? rows
      : [el("tr", {}, el("td", { colspan: 6, class: "muted" }, "Nothing indexed yet. Index a folder below, or run openvid index FOLDER."))]));
    setOptions($("#job-index-names"), list.map((i) => i.name));
  },

  renderRoots(roots) {
    const none = !roots.length;
    $("#job-none").hidden = !none;
    $("#job-fieldset").disabled = none;
    $("#job-form").hidden = none;
    setOptions($("#job-root"), roots);
  },

  async openVideos(name) {
    const [videos] = await Promise.all([api(`indexes/${encodeURIComponent(name)}/videos`)]);
    $("#index-videos-panel").hidden = false;
    $("#index-videos-title").textContent = `Videos in ${name} (${videos.length})`;
    $("#index-check").replaceChildren(el("button", { type: "button", class: "small", onclick: () => guarded(() => this.check(name)) }, "Check consistency"));
    $("#index-videos").replaceChildren(...(videos.length ? videos.map((v) => el("li", { "data-testid": "index-video", dataset: { id: v.id } },
      el("button", { type: "button", class: "link", title: v.path, "aria-label": `Play ${v.name}`,
                     onclick: () => player.open(v.url, 0, undefined, v.name) }, v.name),
      el("span", { class: "muted" }, ` ${fmtTime(v.duration_s)} · ${fmtBytes(v.size)} · ${v.path}`),
      el("a", { class: "button small", href: `/?view=classify&source=indexed&index=${encodeURIComponent(name)}&video=${v.id}`,
                "aria-label": `Classify ${v.name}` }, "Classify")))
      : [el("li", { class: "muted" }, "No videos.")]));
  },

  async check(name) {
    const s = await api(`indexes/${encodeURIComponent(name)}/check`, { method: "POST" });
    const count = (v) => (Array.isArray(v) ? v.length : 0);
    const problems = [];
    if (s.damaged) problems.push(`the vector file is damaged (${s.damaged})`);
    if (count(s.missing)) problems.push(`${count(s.missing)} segments missing from the vector file`);
    if (count(s.extra)) problems.push(`${count(s.extra)} vectors with no segment`);
    if (count(s.gone)) problems.push(`${count(s.gone)} files gone from disk: ${s.gone.map(basename).join(", ")}`);
    const summary = `${s.catalog_segments} segments, ${s.index_vectors} vectors`;
    $("#index-check").textContent = problems.length
      ? `⚠ ${problems.join("; ")} (${summary}). \`openvid check --fix\` repairs the vectors; \`openvid prune\` drops gone files.`
      : `✓ Consistent: ${summary}.`;
  },

  async start() {
    const root = $("#job-root").value;
    const sub = $("#job-sub").value.trim().replace(/^[\\/]+/, "");
    const folder = sub ? `${root.replace(/[\\/]+$/, "")}/${sub}` : root;
    const index = $("#job-index").value.trim() || "default";
    const job = await api(`indexes/${encodeURIComponent(index)}/jobs`, { method: "POST", json: { folder } });
    this.renderJob(job);
    this.follow(job.id);
  },

  jobNode(job) {
    let node = $(`#jobs [data-job-id="${CSS.escape(job.id)}"]`);
    if (!node) {
      node = el("li", { class: "job", "data-testid": "job", dataset: { jobId: job.id } },
        el("div", { class: "job-head" },
          el("strong", { class: "job-title" }), el("span", { class: "job-state badge", "data-testid": "job-state" }),
          el("span", { class: "spacer" }),
          el("button", { type: "button", class: "small job-cancel", "data-testid": "job-cancel", "aria-label": `Cancel ${job.id}`,
                         onclick: () => guarded(async () => this.renderJob(await api(`jobs/${encodeURIComponent(job.id)}`, { method: "DELETE" }))) }, "Cancel")),
        el("progress", { class: "job-progress", "data-testid": "job-progress", max: 1, value: 0, "aria-label": `Progress of ${job.id}` }),
        el("p", { class: "job-text muted", "data-testid": "job-text" }),
        el("ul", { class: "job-failures", "data-testid": "job-failures" }));
      $("#jobs").prepend(node);
    }
    return node;
  },

  renderJob(job, current) {
    this.jobs.set(job.id, { ...job, failures: [...(job.failures || [])] });
    const node = this.jobNode(job);
    node.dataset.state = job.state;
    $(".job-title", node).textContent = `${basename(job.folder) || job.folder} → ${job.index}`;
    $(".job-title", node).title = job.folder;
    $(".job-state", node).textContent = job.state;
    const bar = $(".job-progress", node);
    bar.max = Math.max(1, job.total || 0);
    bar.value = Math.min(job.done || 0, bar.max);
    const pieces = [`${job.done || 0} of ${job.total || 0} files`];
    if (job.segments) pieces.push(`${job.segments} segments`);
    if (current && job.state === "running") pieces.push(`${current.status}: ${basename(current.path)}`);
    const report = job.report;
    if (report) {
      const n = (v) => (Array.isArray(v) ? v.length : v && typeof v === "object" ? Object.keys(v).length : 0);
      for (const [key, text] of [["indexed", "indexed"], ["already", "already indexed"], ["moved", "moved"],
                                 ["copies", "copies"], ["failures", "failed"], ["pending", "left for a next run"]]) {
        if (n(report[key])) pieces.push(`${n(report[key])} ${text}`);
      }
    }
    if (job.error) pieces.push(job.error);
    $(".job-text", node).textContent = pieces.join(" · ");
    $(".job-cancel", node).hidden = job.state !== "running";
    const failures = job.failures || [];
    $(".job-failures", node).replaceChildren(...failures.map((f) =>
      el("li", { "data-testid": "job-failure" }, el("strong", {}, basename(f.path)), `: ${f.error || f.reason || JSON.stringify(f)}`)));
  },

  follow(jobId) {
    if (this.sources.has(jobId)) return;
    const source = new EventSource(`${API}/jobs/${encodeURIComponent(jobId)}/events`);
    this.sources.set(jobId, source);
    const job = { state: "running", done: 0, total: 0, segments: 0, failures: [], ...(this.jobs.get(jobId) || { id: jobId }) };
    job.segments = 0; // counted again from the events, which start from the first
    job.failures = [];
    source.onmessage = (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (exc) { return; }
      if (event.type === "keepalive") return;
      if (event.total !== undefined) job.total = event.total;
      if (event.done !== undefined) job.done = event.done;
      if (event.segments) job.segments += event.segments;
      if (event.type === "progress") {
        if (event.status === "failed") job.failures = [...job.failures, { path: event.path, error: "could not be indexed" }];
        this.renderJob(job, event);
      } else if (["done", "failed", "cancelled"].includes(event.type)) {
        source.close();
        this.sources.delete(jobId);
        this.finished(jobId, event);
      } else {
        this.renderJob(job, event);
      }
    };
    source.onerror = () => {
      // the stream ends when the job has finished; the browser reconnects on its own otherwise
      if (source.readyState === EventSource.CLOSED) {
        this.sources.delete(jobId);
        guarded(async () => this.renderJob(await api(`jobs/${encodeURIComponent(jobId)}`)));
      }
    };
  },

  async finished(jobId, event) {
    const job = await api(`jobs/${encodeURIComponent(jobId)}`).catch(() => null);
    if (job) this.renderJob(job);
    const list = await loadIndexes(true).catch(() => null);
    if (list && !$("#view-indexes").hidden) {
      this.renderIndexes(list);
      const open = currentParams().get("index");
      if (job && open === job.index) await guarded(() => this.openVideos(open));
    }
    search.lastKey = null; // the next search sees the new videos
    if (event.type === "done") {
      const failed = (job && job.failures.length) || 0;
      notice(`Indexing finished: ${event.done} of ${event.total} files${failed ? `, ${failed} failed` : ""}. The new videos are searchable now.`, 10000);
    } else if (event.type === "failed") {
      showError(new ApiError(500, `Indexing failed: ${event.error || "unknown error"}`, "What was committed before the failure stays indexed."));
    } else {
      notice("Indexing cancelled: the videos done so far stay indexed.");
    }
  },
};

const VIEW_HANDLERS = {
  search: (p) => search.show(p),
  classify: (p) => classify.show(p),
  taxonomies: (p) => taxonomies.show(p),
  indexes: (p) => indexes.show(p),
};

// -- wiring -------------------------------------------------------------------------------------

function wire() {
  $("#alert-close").addEventListener("click", clearError);

  // view links: same page, new history entry
  document.addEventListener("click", (e) => {
    const link = e.target.closest && e.target.closest("a[href^='/?']");
    if (!link || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    const params = Object.fromEntries(new URLSearchParams(link.getAttribute("href").slice(2)));
    navigate(params);
  });
  window.addEventListener("popstate", () => route());

  // search
  $("#search-form").addEventListener("submit", (e) => { e.preventDefault(); search.submit(); });
  $("#search-taxonomy").addEventListener("change", () => guarded(() => search.fillLabels("")));
  $("#search-like-clear").addEventListener("click", () => {
    const p = search.params();
    navigate({ ...p, q: $("#search-q").value.trim() });
  });
  $("#search-like-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (file) guarded(() => search.likeUpload(file));
    e.target.value = "";
  });
  for (const id of ["#search-index", "#search-per-video", "#search-label"]) {
    $(id).addEventListener("change", () => { if ($("#search-q").value.trim() || currentParams().get("like")) {
      const like = currentParams().get("like");
      if (like) {
        const p = search.params();
        navigate({ view: "search", like, like_name: currentParams().get("like_name"), index: p.index, per_video: p.per_video });
      } else search.submit();
    } });
  }

  // player
  $("#player-close").addEventListener("click", () => player.close());
  $("#player").addEventListener("close", () => { $("#player-video").pause(); });
  $("#player-video").addEventListener("error", () => player.failed());
  $("#player").addEventListener("click", (e) => { if (e.target === e.currentTarget) player.close(); }); // backdrop
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && $("#player").open) player.close(); });

  // classify
  for (const radio of $$("input[name=source]")) radio.addEventListener("change", () => classify.setSource(radio.value));
  $("#classify-index").addEventListener("change", () => guarded(() => classify.fillVideos()));
  $("#classify-form").addEventListener("submit", (e) => { e.preventDefault(); guarded(() => classify.submit()); });
  $("#classify-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (!file) return;
    classify.setFile(file);
    if ($("#classify-taxonomy").value || $("#classify-labels").value.trim()) guarded(() => classify.submit());
  });
  const drop = $("#classify-drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (!file) return;
    classify.setSource("upload");
    classify.setFile(file);
    if ($("#classify-taxonomy").value || $("#classify-labels").value.trim()) guarded(() => classify.submit());
  });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("#classify-file").click(); } });

  // taxonomies
  $("#tax-create").addEventListener("submit", (e) => { e.preventDefault(); guarded(() => taxonomies.create()); });
  $("#tax-import").addEventListener("submit", (e) => { e.preventDefault(); guarded(() => taxonomies.importFile()); });
  $("#label-add").addEventListener("submit", (e) => { e.preventDefault(); guarded(() => taxonomies.addLabel()); });
  $("#tax-delete").addEventListener("click", () => guarded(() => taxonomies.remove()));
  $("#example-upload").addEventListener("submit", (e) => { e.preventDefault(); guarded(() => taxonomies.uploadExample()); });

  // indexes
  $("#job-form").addEventListener("submit", (e) => { e.preventDefault(); guarded(() => indexes.start()); });
}

wire();
route();
