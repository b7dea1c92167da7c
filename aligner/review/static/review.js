// The review page of aligner.review (python -m aligner.review --help). Reads window.REVIEW_INDEX (data/index.js);
// draws only the rows in sight; loads an utterance's view (data/views/.../ID.js) when it is opened.
"use strict";
(function () {
  window.REVIEW_VIEWS = window.REVIEW_VIEWS || {};
  const INDEX = window.REVIEW_INDEX;
  const $ = (id) => document.getElementById(id);
  if (!INDEX) {
    $("notes").innerHTML = "<li>data/index.js is missing: rerun python -m aligner.review to write this page.</li>";
    return;
  }
  const C = Object.fromEntries(INDEX.columns.map((name, i) => [name, i]));
  const ROWS = INDEX.rows;
  const ROW_HEIGHT = 24;
  const OVERSCAN = 12;
  const PER_FOLDER = 1000;
  const STATUS_ORDER = { failed: 0, invalid: 1, missing: 2, ok: 3 };
  const collator = new Intl.Collator(undefined, { numeric: true });
  const fixed = (x, digits) => (x === null || x === undefined ? "" : x.toFixed(digits));

  // Columns of the index: how each is shown and sorted (numbers: null, unknown, sorts first).
  const COLUMNS = [
    { key: "rel_path", title: "rel_path", width: "11%", text: (r) => r[C.rel_path] },
    { key: "speaker", title: "speaker", width: "6%", text: (r) => r[C.speaker] },
    { key: "language", title: "language", width: "6%", text: (r) => r[C.language] },
    { key: "text", title: "text", width: "28%", text: (r) => r[C.text] },
    {
      key: "status", title: "status · cause", width: "14%",
      text: (r) => r[C.status] + (r[C.cause] ? " · " + r[C.cause] : ""),
      compare: (a, b) => (STATUS_ORDER[ROWS[a][C.status]] - STATUS_ORDER[ROWS[b][C.status]])
        || collator.compare(ROWS[a][C.cause], ROWS[b][C.cause]),
    },
    { key: "confidence", title: "confidence", width: "8%", number: (r) => r[C.confidence],
      text: (r) => fixed(r[C.confidence], 3) },
    { key: "one_frame", title: "one-frame tokens", width: "8%", number: (r) => r[C.one_frame],
      text: (r) => (r[C.one_frame] === null ? "" : fixed(100 * r[C.one_frame], 1) + " %") },
    { key: "longest", title: "longest token", width: "8%", number: (r) => r[C.longest_frames],
      text: (r) => (r[C.longest_frames] === null ? "" : r[C.longest_symbol] + " · " + r[C.longest_frames] + " fr") },
    { key: "transcript", title: "transcript · suspect", width: "11%", number: (r) => r[C.transcript_score],
      text: (r) => (r[C.transcript_score] === null ? ""
        : fixed(r[C.transcript_score], 1) + (r[C.suspect_word] ? " · " + r[C.suspect_word] : "")) },
  ];
  // most suspect first where the run checked the transcripts, else least confident first
  const checked = ROWS.some((r) => r[C.transcript_score] !== null);
  const state = { sortKey: checked ? "transcript" : "confidence", sortDir: checked ? -1 : 1, sorted: null, order: [],
    selected: -1, opened: -1 };

  function comparator(column) {
    if (column.compare) return column.compare;
    if (column.number) {
      const keys = new Float64Array(ROWS.length);
      ROWS.forEach((r, i) => { const v = column.number(r); keys[i] = v === null || v === undefined ? -Infinity : v; });
      return (a, b) => keys[a] - keys[b];
    }
    const keys = ROWS.map(column.text);
    return (a, b) => collator.compare(keys[a], keys[b]);
  }

  function sortRows() {
    const column = COLUMNS.find((c) => c.key === state.sortKey);
    const compare = comparator(column);
    const dir = state.sortDir;
    const indices = Array.from(ROWS.keys());
    indices.sort((a, b) => dir * compare(a, b) || a - b);
    state.sorted = indices;
    for (const th of $("heads").children) {
      th.setAttribute("aria-sort", th.dataset.key === state.sortKey ? (dir > 0 ? "ascending" : "descending") : "none");
    }
  }

  function filterRows() {
    const speaker = $("filter-speaker").value;
    const language = $("filter-language").value;
    const status = $("filter-status").value;
    const needle = $("filter-text").value.trim().toLowerCase();
    state.order = state.sorted.filter((i) => {
      const r = ROWS[i];
      if (speaker && r[C.speaker] !== speaker) return false;
      if (language && r[C.language] !== language) return false;
      if (status.startsWith("status:") && r[C.status] !== status.slice(7)) return false;
      if (status.startsWith("cause:") && r[C.cause] !== status.slice(6)) return false;
      if (needle && !(r[C.rel_path].toLowerCase().includes(needle) || r[C.text].toLowerCase().includes(needle))) {
        return false;
      }
      return true;
    });
    const byStatus = {};
    for (const i of state.order) byStatus[ROWS[i][C.status]] = (byStatus[ROWS[i][C.status]] || 0) + 1;
    const parts = Object.keys(STATUS_ORDER).filter((s) => byStatus[s]).map((s) => s + " " + byStatus[s]);
    $("counts").textContent = `showing ${state.order.length} of ${ROWS.length} utterances` +
      (parts.length ? " · " + parts.join(" · ") : "");
    $("index").scrollTop = 0;
    renderRows();
  }

  function tally(values) {
    const counts = new Map();
    for (const v of values) counts.set(v, (counts.get(v) || 0) + 1);
    return [...counts.entries()].sort((a, b) => collator.compare(String(a[0]), String(b[0])));
  }

  function fillSelect(select, groups) {
    const all = document.createElement("option");
    all.value = "";
    all.textContent = `all (${ROWS.length})`;
    select.appendChild(all);
    for (const [label, prefix, entries] of groups) {
      const parent = label ? document.createElement("optgroup") : select;
      if (label) { parent.label = label; select.appendChild(parent); }
      for (const [value, count] of entries) {
        const option = document.createElement("option");
        option.value = prefix + value;
        option.textContent = `${value || "(none)"} (${count})`;
        parent.appendChild(option);
      }
    }
    select.addEventListener("change", filterRows);
  }

  function buildHeader() {
    for (const column of COLUMNS) {
      const col = document.createElement("col");
      col.style.width = column.width;
      $("cols").appendChild(col);
      const th = document.createElement("th");
      th.textContent = column.title;
      th.dataset.key = column.key;
      th.title = "sort by " + column.title;
      th.addEventListener("click", () => {
        state.sortDir = state.sortKey === column.key ? -state.sortDir : 1;
        state.sortKey = column.key;
        sortRows();
        filterRows();
      });
      $("heads").appendChild(th);
    }
  }

  function spacer(height) {
    const tr = document.createElement("tr");
    tr.className = "spacer";
    const td = document.createElement("td");
    td.colSpan = COLUMNS.length;
    td.style.height = height + "px";
    tr.appendChild(td);
    return tr;
  }

  function renderRows() {
    const scroller = $("index");
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(state.order.length, Math.ceil((scroller.scrollTop + scroller.clientHeight) / ROW_HEIGHT) + OVERSCAN);
    const body = document.createDocumentFragment();
    body.appendChild(spacer(first * ROW_HEIGHT));
    for (let n = first; n < last; n++) {
      const i = state.order[n];
      const r = ROWS[i];
      const tr = document.createElement("tr");
      tr.dataset.rel = r[C.rel_path];
      tr.dataset.row = i;
      tr.className = "status-" + r[C.status] + (i === state.selected ? " selected" : "");
      if (r[C.message]) tr.title = r[C.message];
      for (const column of COLUMNS) {
        const td = document.createElement("td");
        td.className = "c-" + column.key;
        td.textContent = column.text(r);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    body.appendChild(spacer((state.order.length - last) * ROW_HEIGHT));
    $("rows").replaceChildren(body);
  }

  function select(i, scroll) {
    state.selected = i;
    const n = state.order.indexOf(i);
    if (scroll && n >= 0) {
      const scroller = $("index");
      const y = n * ROW_HEIGHT;
      if (y < scroller.scrollTop + ROW_HEIGHT || y > scroller.scrollTop + scroller.clientHeight - 2 * ROW_HEIGHT) {
        scroller.scrollTop = Math.max(0, y - scroller.clientHeight / 3);
      }
    }
    renderRows();
    openRow(i);
  }

  // ---- the utterance view ----
  let player = null; // { ws, audio, seconds }
  let openSequence = 0;

  function loadView(id) {
    if (window.REVIEW_VIEWS[id]) return Promise.resolve(window.REVIEW_VIEWS[id]);
    return new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = `data/views/${Math.floor(id / PER_FOLDER)}/${id}.js`;
      tag.onload = () => {
        tag.remove();
        if (window.REVIEW_VIEWS[id]) resolve(window.REVIEW_VIEWS[id]);
        else reject(new Error(tag.src + " holds no view"));
      };
      tag.onerror = () => { tag.remove(); reject(new Error(tag.src + " not found: rerun python -m aligner.review")); };
      document.head.appendChild(tag);
    });
  }

  function element(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function closeView() {
    if (player) {
      if (player.ws) player.ws.destroy();
      player.audio.pause();
      player.audio.removeAttribute("src");
      player = null;
    }
    $("view").hidden = true;
    $("view").replaceChildren();
    state.opened = -1;
  }

  function openRow(i) {
    const r = ROWS[i];
    const sequence = ++openSequence;
    history.replaceState(null, "", "#" + encodeURIComponent(r[C.rel_path]));
    if (r[C.view] === null) {
      closeView();
      $("view").hidden = false;
      $("view").append(element("div", "view-head rel", r[C.rel_path]), element("div", "view-head message", r[C.message]));
      state.opened = i;
      return;
    }
    loadView(r[C.view]).then(
      (view) => { if (sequence === openSequence) drawView(i, view); },
      (error) => {
        if (sequence !== openSequence) return;
        closeView();
        $("view").hidden = false;
        $("view").append(element("div", "view-head message", error.message));
      },
    );
  }

  const KIND = { p: "phone", m: "mark", s: "space", u: "punct" };

  function drawView(i, view) {
    closeView();
    state.opened = i;
    const root = $("view");
    root.hidden = false;
    root.dataset.rel = view.rel_path;
    const r = ROWS[i];
    const head = element("div", "view-head");
    const line = element("div");
    line.append(element("span", "rel", view.rel_path),
      document.createTextNode(`  speaker ${r[C.speaker]} · ${r[C.language]} · ${view.status}` +
        (view.cause ? " · " + view.cause : "") +
        (r[C.confidence] !== null ? ` · confidence ${fixed(r[C.confidence], 3)}` : "")));
    head.append(line, element("div", "text", r[C.text]));
    if (view.tokens !== undefined) head.append(element("div", "ipa", view.tokens));
    for (const note of [view.message, view.token_error, view.audio_error, view.spectrogram_note]) {
      if (note) head.append(element("div", "message", note));
    }
    root.append(head);

    const hop = view.hop_seconds;
    const offset = view.offset_seconds;
    const lastFrame = Math.max(0, ...view.tiers.filter((t) => t.durations).map((t) => t.durations.reduce((a, b) => a + b, 0)),
      view.mel_frames || 0);
    const seconds = Math.max(view.seconds, offset + lastFrame * hop, 0.01);
    const place = (t) => Math.min(Math.max(t, 0), seconds);
    const percent = (t) => (100 * place(t) / seconds) + "%";

    // controls
    const controls = element("div", "controls");
    const play = element("button", "", "play / pause");
    play.id = "play";
    const clock = element("span", "clock", `0.000 / ${view.seconds.toFixed(3)} s`);
    clock.id = "clock";
    const zoomOut = element("button", "", "−");
    const zoomFit = element("button", "", "fit");
    const zoomIn = element("button", "", "+");
    zoomOut.title = "zoom out"; zoomIn.title = "zoom in"; zoomFit.title = "fit the utterance to the width";
    const legend = element("span", "legend");
    for (const [kind, label] of [["phone", "phone"], ["mark", "stress/length mark"], ["blank", "blank"],
      ["space", "space"], ["punct", "punctuation"], ["word", "word"], ["truth", "truth"]]) {
      const swatch = element("span", "iv-legend", label);
      swatch.style.background = `var(--${kind})`;
      if (kind === "phone") swatch.style.color = "#fff";
      legend.append(swatch);
    }
    controls.append(play, clock, element("span", "", "zoom"), zoomOut, zoomFit, zoomIn, legend);
    root.append(controls);

    // tracks: names on the left, the lane (everything placed in % of its width) on the right
    const tracks = element("div", "tracks");
    const names = element("div", "names");
    const track = element("div");
    track.id = "track";
    const lane = element("div");
    lane.id = "lane";
    track.append(lane);
    tracks.append(names, track);
    root.append(tracks);
    const addRow = (name, height, className) => {
      const label = element("div", height, name);
      label.title = name;
      names.append(label);
      const row = element("div", "lane-row " + height + (className ? " " + className : ""));
      lane.append(row);
      return row;
    };

    const waveRow = addRow("waveform", "h-wave");
    const specRow = addRow("mel spectrogram", "h-spec");
    if (view.spectrogram) {
      const img = element("img");
      img.id = "spec-image";
      img.src = view.spectrogram;
      img.alt = "mel spectrogram";
      img.draggable = false;
      img.style.left = (100 * offset / seconds) + "%";
      img.style.width = (100 * view.mel_frames * hop / seconds) + "%";
      specRow.append(img);
    }

    const interval = (row, start, end, className, label, title) => {
      const e = element("div", "iv " + className, label);
      e.style.left = percent(start);
      e.style.width = (100 * (place(end) - place(start)) / seconds) + "%";
      e.title = title;
      e.dataset.start = place(start).toFixed(6);
      e.dataset.end = place(end).toFixed(6);
      row.append(e);
      return e;
    };

    for (const tier of view.tiers) {
      const name = tier.name + (tier.confidence !== undefined ? ` · ${tier.confidence.toFixed(3)}` : "");
      if (!tier.durations) {
        const note = addRow(name, "h-note", "note");
        note.textContent = tier.error;
        note.dataset.tier = tier.name;
        continue;
      }
      const tokens = addRow(name + " · tokens", "h-tokens");
      tokens.dataset.tier = tier.name;
      tokens.dataset.kind = "tokens";
      let frame = 0;
      tier.durations.forEach((frames, k) => {
        const blank = k % 2 === 0;
        const symbol = blank ? "" : view.tokens[(k - 1) / 2];
        const kind = blank ? "blank" : KIND[view.kinds[(k - 1) / 2]];
        const start = offset + frame * hop;
        const end = offset + (frame + frames) * hop;
        const shown = blank ? "" : (kind === "space" ? "␣" : symbol);
        const e = interval(tokens, start, end, kind, shown,
          `${blank ? "blank" : kind + " " + symbol} · token ${k} · ${frames} frame${frames > 1 ? "s" : ""} · ` +
          `${place(start).toFixed(3)}–${place(end).toFixed(3)} s`);
        e.dataset.k = k;
        e.dataset.frame = frame;
        e.dataset.frames = frames;
        frame += frames;
      });
      const words = addRow(tier.name + " · words", "h-words");
      words.dataset.tier = tier.name;
      words.dataset.kind = "words";
      for (const [start, end, label] of tier.words) {
        interval(words, start + offset, end + offset, "word", label,
          `${label} · ${place(start + offset).toFixed(3)}–${place(end + offset).toFixed(3)} s`);
      }
      if (tier.suspect) {
        const [start, end, word, score] = tier.suspect;
        const suspect = addRow(tier.name + " · suspect", "h-words");
        suspect.dataset.tier = tier.name;
        suspect.dataset.kind = "suspect";
        interval(suspect, start, end, "suspect", word || "+",
          `transcript check: ${word || "speech before the first word"} · score ${score.toFixed(1)} · ` +
          `${place(start).toFixed(3)}–${place(end).toFixed(3)} s (click to play)`);
      }
    }
    if (view.truth) {
      const truth = addRow("truth (reference/)", "h-truth");
      truth.dataset.kind = "truth";
      for (const [start, end, label] of view.truth) {
        interval(truth, start, end, label ? "truth" : "silence", label,
          `${label || "silence"} · ${start.toFixed(3)}–${end.toFixed(3)} s (true)`);
      }
    }
    const cursor = element("div");
    cursor.id = "cursor";
    lane.append(cursor);

    // zoom: the lane's width in pixels; every child is placed in % of it
    let pxPerSecond = 0;
    const fit = () => Math.max((track.clientWidth - 2) / seconds, 1);
    const setZoom = (value) => {
      const anchor = track.scrollLeft / Math.max(lane.clientWidth, 1);
      pxPerSecond = Math.min(Math.max(value, fit()), 4000);
      lane.style.width = Math.round(pxPerSecond * seconds) + "px";
      track.scrollLeft = anchor * lane.clientWidth;
    };
    setZoom(Math.max(fit(), 150));
    zoomIn.onclick = () => setZoom(pxPerSecond * 1.5);
    zoomOut.onclick = () => setZoom(pxPerSecond / 1.5);
    zoomFit.onclick = () => setZoom(fit());

    // audio: the corpus's wav through an <audio> element that wavesurfer.js drives
    const audio = element("audio");
    audio.preload = "auto";
    root.append(audio);
    player = { ws: null, audio, seconds };
    const moveCursor = (t) => {
      cursor.style.left = percent(t);
      clock.textContent = `${t.toFixed(3)} / ${view.seconds.toFixed(3)} s`;
      if (!audio.paused) {
        const x = place(t) / seconds * lane.clientWidth;
        if (x < track.scrollLeft || x > track.scrollLeft + track.clientWidth - 20) track.scrollLeft = Math.max(0, x - 40);
      }
    };
    if (view.audio) {
      const wave = element("div");
      wave.id = "wave";
      wave.style.width = (100 * view.seconds / seconds) + "%";
      waveRow.append(wave);
      const ws = window.WaveSurfer.create({
        container: wave, height: 62, media: audio, url: view.audio, peaks: [view.peaks], duration: view.seconds,
        waveColor: "#8aa4c8", progressColor: "#35598f", cursorColor: "#e00", cursorWidth: 1, normalize: true,
        hideScrollbar: true, autoScroll: false, autoCenter: false, fillParent: true, minPxPerSec: 1, dragToSeek: false,
      });
      player.ws = ws;
      ws.on("timeupdate", moveCursor);
      ws.on("pause", () => { for (const e of lane.querySelectorAll(".playing")) e.classList.remove("playing"); });
      play.onclick = () => ws.playPause();
      lane.addEventListener("click", (event) => {
        const target = event.target.closest(".iv");
        if (target) {
          for (const e of lane.querySelectorAll(".playing")) e.classList.remove("playing");
          target.classList.add("playing");
          ws.play(Number(target.dataset.start), Number(target.dataset.end));
        } else if (event.target.closest(".h-spec")) {
          const box = lane.getBoundingClientRect();
          ws.setTime(Math.min((event.clientX - box.left) / box.width * seconds, view.seconds));
        }
      });
    } else {
      play.disabled = true;
      waveRow.classList.add("note");
      waveRow.textContent = view.audio_error || "no audio";
    }
    moveCursor(0);
    root.dataset.ready = "1";
  }

  function step(delta) {
    if (!state.order.length) return;
    const n = state.order.indexOf(state.selected);
    const next = state.order[Math.min(Math.max(n + delta, 0), state.order.length - 1)];
    if (next !== undefined && next !== state.selected) select(next, true);
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.closest && event.target.closest("input, select, textarea")) return;
    if (event.key === " " && player && player.ws) { event.preventDefault(); player.ws.playPause(); }
    else if (event.key === "j" || event.key === "ArrowDown") { event.preventDefault(); step(1); }
    else if (event.key === "k" || event.key === "ArrowUp") { event.preventDefault(); step(-1); }
    else if (event.key === "Escape") closeView();
  });

  // ---- start ----
  document.title = "Alignment review: " + INDEX.title;
  $("title").textContent = INDEX.title + " · tiers: " + INDEX.folders.join(", ");
  for (const note of INDEX.notes) $("notes").append(element("li", "", note));
  buildHeader();
  fillSelect($("filter-speaker"), [["", "", tally(ROWS.map((r) => r[C.speaker]))]]);
  fillSelect($("filter-language"), [["", "", tally(ROWS.map((r) => r[C.language]))]]);
  fillSelect($("filter-status"), [
    ["status", "status:", tally(ROWS.map((r) => r[C.status]))],
    ["cause", "cause:", tally(ROWS.map((r) => r[C.cause]).filter((c) => c))],
  ]);
  $("filter-text").addEventListener("input", filterRows);
  let pending = false;
  $("index").addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; renderRows(); });
  });
  $("rows").addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-row]");
    if (tr) select(Number(tr.dataset.row), false);
  });
  sortRows();
  filterRows();
  // ready once the index has been painted (a task after the next frame): what benchmarks/review_load.py times
  requestAnimationFrame(() => setTimeout(() => {
    window.REVIEW_READY_MS = performance.now();
    document.documentElement.dataset.ready = "index";
  }, 0));
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (wanted) {
    const i = ROWS.findIndex((r) => r[C.rel_path] === wanted);
    if (i >= 0) select(i, true);
  }
})();
