// The dashboard's page code: draws the kernel's JSON model, applies its deltas, sends clicks.
// Shipped inside the toolkit package; it fetches nothing. Every text from the kernel is
// inserted with textContent, never as HTML. Countdowns, ages, the headline and the live
// marker move here between the kernel's messages, against the kernel's clock.

const SVG = "http://www.w3.org/2000/svg";
const OUTCOMES = { o: "ok", e: "error", t: "timeout", c: "circuit_open" };
const FAILING = new Set(["open", "half-open", "isolated"]);
const LABELS = {
  trip: ["Trip", "open the breaker now"],
  reset: ["Reset", "close the breaker and clear its failures"],
  rerun: ["Rerun", "call this integration once"],
  isolate: ["Isolate", "hold it open in every worker until Reset"],
  run_all: ["Run all", "call every integration once"],
  reset_all: ["Reset all", "close every breaker"],
  clear_faults: ["Clear faults", "remove every injected fault"],
};
const POLICY_LABELS = { timeout: "timeout (s)", fail_max: "fail_max", reset_timeout: "reset_timeout (s)" };

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

function ageText(seconds) {
  const s = Math.max(seconds, 0);
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

function two(n) {
  return String(n).padStart(2, "0");
}

function clock(epoch) {
  const d = new Date(epoch * 1000);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function clockMs(epoch) {
  const d = new Date(epoch * 1000);
  return `${clock(epoch)}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

function ms(value) {
  if (value === null || value === undefined) return "";
  if (value >= 10000) return `${(value / 1000).toFixed(1)} s`;
  return `${value.toLocaleString("en", { maximumFractionDigits: 1 })} ms`;
}

function trialText(row, now) {
  if (row.state === "isolated") return "held open";
  if (row.state === "half-open") return row.running ? "trial running" : "trial due";
  if (row.state !== "open" || row.trial_at === null || row.trial_at === undefined) return "";
  const left = row.trial_at - now;
  return left <= 0 ? "trial due" : `trial in ${Math.ceil(left)} s`;
}

function lastFailed(row) {
  return !!row.last && (row.last.outcome === "error" || row.last.outcome === "timeout");
}

export function headline(rows, now) {
  const failing = rows.filter((r) => FAILING.has(r.state) || lastFailed(r));
  if (!failing.length) return rows.length ? `all ${rows.length} healthy` : "no integrations";
  const rank = { isolated: 0, open: 1, "half-open": 2 };
  failing.sort(
    (a, b) =>
      (rank[a.state] ?? 3) - (rank[b.state] ?? 3) ||
      (a.since ?? Infinity) - (b.since ?? Infinity) ||
      (a.label < b.label ? -1 : a.label > b.label ? 1 : 0),
  );
  const named = failing.slice(0, 5).map((r) => {
    if (r.state === "closed") return r.label;
    const age = r.since === null || r.since === undefined ? "" : ` ${ageText(now - r.since)}`;
    return `${r.label} (${r.state}${age})`;
  });
  const more = failing.length > 5 ? `, and ${failing.length - 5} more` : "";
  return `${failing.length} of ${rows.length} failing: ${named.join(", ")}${more}`;
}

function figures() {
  if (!globalThis.toolkitDashboardFigures) {
    globalThis.toolkitDashboardFigures = { renders: [], clicks: [] };
  }
  return globalThis.toolkitDashboardFigures;
}

class View {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.m = JSON.parse(model.get("model_json") || "{}");
    this.offset = 0; // kernel clock minus page clock, seconds
    this.heard = 0; // page time of the kernel's last message
    this.pending = new Map();
    this.nextId = 1;
    this.rowViews = new Map();
    this.root = h("div", "toolkit-dash");
    el.appendChild(this.root);
    this.onMsg = (msg) => this.receive(msg);
    model.on("msg:custom", this.onMsg);
    this.drawAll("state");
    this.timer = setInterval(() => this.tick(), 250);
    // the kernel sends only while a page speaks: a closed page lets an idle kernel be culled
    this.pinger = setInterval(() => model.send({ t: "ping" }), 3000);
    this.themeObserver = new MutationObserver(() => this.detectTheme());
    this.themeObserver.observe(document.body, { attributes: true });
    model.send({ t: "hello" });
  }

  destroy() {
    clearInterval(this.timer);
    clearInterval(this.pinger);
    this.themeObserver.disconnect();
    this.model.off("msg:custom", this.onMsg);
  }

  now() {
    return Date.now() / 1000 + this.offset;
  }

  // ------------------------------------------------------------- messages
  receive(msg) {
    if (!msg || typeof msg !== "object") return;
    if (typeof msg.now === "number") this.offset = msg.now - Date.now() / 1000;
    this.heard = Date.now();
    if (msg.t === "full") {
      this.m = JSON.parse(msg.json);
      this.drawAll("full");
    } else if (msg.t === "delta") {
      this.applyDelta(msg);
    } else if (msg.t === "ack") {
      this.acknowledged(msg);
    }
    this.tick();
  }

  applyDelta(d) {
    const m = this.m;
    if (!m.head) return;
    let reorder = false;
    if (d.head) {
      m.head = d.head;
      this.drawHead();
    }
    if (d.order) {
      m.order = d.order;
      reorder = true;
    }
    if (d.rows) {
      for (const [name, row] of Object.entries(d.rows)) {
        m.rows[name] = row;
        if (!reorder) this.drawRow(name);
      }
    }
    if (reorder) this.drawRows();
    for (const table of ["calls", "events"]) {
      const added = d[table];
      if (!added) continue;
      const old = m[table] || [];
      const last = old.length ? old[old.length - 1].seq : -Infinity;
      m[table] = !added.length || added[0].seq <= last ? added : old.concat(added);
      m[table] = m[table].slice(-(m.head.recent || 20));
    }
    if (d.calls || d.events || d.rows) this.drawTables();
    // A row that changed redraws the timeline with it (tick() below), not at the next second.
    if (d.rows) this.lastSecond = null;
  }

  // --------------------------------------------------------------- clicks
  act(button, action, name, value) {
    const id = this.nextId++;
    const start = performance.now();
    button.classList.add("toolkit-pending");
    button.setAttribute("aria-busy", "true");
    this.pending.set(id, { button, start, action });
    requestAnimationFrame(() => {
      const entry = this.pending.get(id);
      if (entry) entry.shown = performance.now() - start;
    });
    this.model.send({ t: "act", id, do: action, name: name ?? null, value: value ?? null });
  }

  acknowledged(msg) {
    const entry = this.pending.get(msg.id);
    if (!entry) return;
    this.pending.delete(msg.id);
    entry.button.classList.remove("toolkit-pending");
    entry.button.removeAttribute("aria-busy");
    figures().clicks.push({
      action: entry.action,
      shown_ms: entry.shown ?? performance.now() - entry.start,
      ack_ms: performance.now() - entry.start,
      ok: !!msg.ok,
    });
  }

  // ---------------------------------------------------------------- theme
  detectTheme() {
    let node = this.el;
    let color = "";
    while (node && node.nodeType === 1) {
      const bg = getComputedStyle(node).backgroundColor;
      if (bg && bg !== "transparent" && !/rgba\(.*,\s*0\)$/.test(bg)) {
        color = bg;
        break;
      }
      node = node.parentElement;
    }
    const nums = (color.match(/[\d.]+/g) || ["255", "255", "255"]).map(Number);
    const lum = (0.2126 * nums[0] + 0.7152 * nums[1] + 0.0722 * nums[2]) / 255;
    const theme = lum < 0.5 ? "dark" : "light";
    if (this.root.dataset.theme !== theme) this.root.dataset.theme = theme;
  }

  // --------------------------------------------------------------- drawing
  drawAll(source) {
    const start = performance.now();
    this.root.replaceChildren();
    this.rowViews.clear();
    this.detectTheme();
    const head = this.m.head;
    if (!head) return;
    this.root.dataset.kind = head.kind;
    this.headEl = h("div", "toolkit-head");
    this.live = h("span", "toolkit-live");
    this.titleEl = h("span", "toolkit-title");
    this.headlineEl = h("span", "toolkit-headline");
    this.storageEl = h("span", "toolkit-storage");
    this.headEl.append(this.live, this.titleEl, this.headlineEl, this.storageEl);
    this.controlsEl = h("div", "toolkit-controls");
    this.errorEl = h("div", "toolkit-error-area");
    this.errorEl.setAttribute("role", "alert");
    this.rowsEl = h("div", "toolkit-rows");
    this.timelineEl = h("section", "toolkit-timeline");
    this.tablesEl = h("div", "toolkit-tables");
    this.root.append(this.headEl, this.controlsEl, this.errorEl, this.rowsEl, this.timelineEl, this.tablesEl);
    this.drawControls();
    this.drawHead();
    this.drawRows();
    this.drawTables();
    this.tick();
    const rows = (this.m.order || []).length;
    requestAnimationFrame(() =>
      figures().renders.push({ source, rows, ms: performance.now() - start }),
    );
  }

  drawControls() {
    const head = this.m.head;
    this.controlsEl.replaceChildren();
    const buttons = h("div", "toolkit-buttons");
    for (const action of head.global || []) {
      const [label, tip] = LABELS[action] || [action, ""];
      const b = h("button", `toolkit-button toolkit-${action.replace(/_/g, "-")}`, label);
      b.type = "button";
      b.title = tip;
      if (action === "run_all") b.classList.add("toolkit-primary");
      b.addEventListener("click", () => this.act(b, action));
      buttons.append(b);
    }
    this.controlsEl.append(buttons);
    this.policyInputs = {};
    if (head.policy) {
      const policy = h("div", "toolkit-policy");
      policy.append(h("span", "toolkit-policy-title", "policy for all"));
      for (const [setting, value] of Object.entries(head.policy)) {
        const label = h("label", "toolkit-field");
        label.append(h("span", null, POLICY_LABELS[setting] || setting));
        const input = h("input", `toolkit-input toolkit-policy-${setting.replace(/_/g, "-")}`);
        input.type = "number";
        input.step = setting === "fail_max" ? "1" : "0.1";
        input.value = String(value);
        input.dataset.setting = setting;
        input.addEventListener("change", () => {
          const n = Number(input.value);
          this.act(input, "set_policy", setting, setting === "fail_max" && Number.isInteger(n) ? n : n);
        });
        label.append(input);
        policy.append(label);
        this.policyInputs[setting] = input;
      }
      this.controlsEl.append(policy);
    }
  }

  drawHead() {
    const head = this.m.head;
    this.titleEl.textContent = head.title;
    const storage = head.storage || {};
    this.storageEl.dataset.ok = String(storage.ok !== false);
    this.storageEl.textContent =
      storage.ok === false
        ? storage.text || `${storage.kind} storage unreachable: breaker state kept locally`
        : storage.text || "";
    this.errorEl.replaceChildren();
    if (head.error) this.errorEl.append(h("div", "toolkit-error", head.error));
    for (const [setting, input] of Object.entries(this.policyInputs || {})) {
      const value = head.policy && head.policy[setting];
      if (document.activeElement !== input && value !== undefined && Number(input.value) !== value) {
        input.value = String(value);
      }
    }
  }

  drawRows() {
    const m = this.m;
    this.rowsEl.replaceChildren();
    this.rowViews.clear();
    const header = h("div", "toolkit-row toolkit-header");
    const titles =
      m.head.kind === "fleet"
        ? ["integration", "breaker (every worker)", "since", "why", "policy", "last calls", "", "controls (fleet-wide)"]
        : ["integration", "breaker", "since", "why", "last call", "last calls", "fault", "controls"];
    const cells = ["name", "state", "since", "why", "last", "spark", "fault", "actions"];
    titles.forEach((title, i) => header.append(h("div", `toolkit-cell toolkit-${cells[i]}-cell`, title)));
    header.setAttribute("aria-hidden", "true");
    this.rowsEl.append(header);
    const frag = document.createDocumentFragment();
    for (const name of m.order || []) {
      const view = this.makeRow(name);
      this.rowViews.set(name, view);
      frag.append(view.el);
      this.fillRow(view, m.rows[name]);
    }
    this.rowsEl.append(frag);
  }

  drawRow(name) {
    let view = this.rowViews.get(name);
    if (!view) {
      this.drawRows();
      return;
    }
    this.fillRow(view, this.m.rows[name]);
  }

  makeRow(name) {
    const head = this.m.head;
    const el = h("div", "toolkit-row");
    const cell = (kind) => h("div", `toolkit-cell toolkit-${kind}-cell`);
    const v = { el, name };
    const nameCell = cell("name");
    v.label = h("span", "toolkit-name");
    v.label.dataset.name = name;
    v.sub = h("span", "toolkit-name-id");
    nameCell.append(v.label, v.sub);
    const state = cell("state");
    v.badge = h("span", "toolkit-badge");
    v.badge.dataset.name = name;
    v.trial = h("span", "toolkit-trial");
    v.running = h("span", "toolkit-running", "● running");
    state.append(v.badge, v.trial, v.running);
    const since = cell("since");
    v.since = h("span", "toolkit-since");
    v.age = h("span", "toolkit-age");
    since.append(v.since, v.age);
    const why = cell("why");
    v.why = h("span", "toolkit-why");
    why.append(v.why);
    const last = cell("last");
    v.outcome = h("span", "toolkit-outcome");
    v.duration = h("span", "toolkit-duration");
    v.failures = h("span", "toolkit-failures");
    v.rates = h("span", "toolkit-rates");
    v.error = h("div", "toolkit-error-text");
    last.append(v.outcome, v.duration, v.failures, v.rates, v.error);
    const sparkCell = cell("spark");
    v.spark = svg("svg", { class: "toolkit-spark", width: 124, height: 26, viewBox: "0 0 124 26", role: "img" });
    v.sparkTitle = svg("title");
    v.sparkCaption = h("span", "toolkit-spark-caption");
    sparkCell.append(v.spark, v.sparkCaption);
    const fault = cell("fault");
    v.chip = h("span", "toolkit-fault-chip");
    v.chipText = h("span", "toolkit-fault-label");
    v.chipClear = h("button", "toolkit-fault-clear", "clear");
    v.chipClear.type = "button";
    v.chipClear.title = "remove this fault";
    v.chipClear.addEventListener("click", () => this.act(v.chipClear, "clear_fault", name));
    v.chip.append(v.chipText, v.chipClear);
    fault.append(v.chip);
    if ((head.controls || []).includes("fault")) {
      v.select = h("select", "toolkit-fault");
      v.select.title = "inject a fault into every later call";
      v.select.setAttribute("aria-label", `fault for ${name}`);
      for (const kind of head.faults || []) {
        const option = h("option", null, kind === "none" ? "no fault" : kind);
        option.value = kind;
        v.select.append(option);
      }
      v.select.addEventListener("change", () => this.act(v.select, "fault", name, v.select.value));
      fault.append(v.select);
    }
    const actions = cell("actions");
    v.buttons = {};
    for (const action of head.controls || []) {
      if (action === "fault") continue;
      const [label, tip] = LABELS[action] || [action, ""];
      const b = h("button", `toolkit-button toolkit-${action}`, label);
      b.type = "button";
      b.title = tip;
      b.addEventListener("click", () => this.act(b, action, name));
      actions.append(b);
      v.buttons[action] = b;
    }
    el.append(nameCell, state, since, why, last, sparkCell, fault, actions);
    return v;
  }

  fillRow(v, row) {
    if (!row) return;
    v.row = row;
    v.el.dataset.name = row.name;
    v.el.dataset.state = row.state;
    v.label.textContent = row.label;
    v.sub.textContent = row.label !== row.name ? row.name : "";
    v.badge.textContent = row.state;
    v.badge.dataset.state = row.state;
    v.running.hidden = !row.running;
    if (v.buttons.rerun) v.buttons.rerun.disabled = !!row.running;
    v.why.textContent = row.why || "";
    const last = row.last;
    v.outcome.textContent = last ? last.outcome : "no call yet";
    v.outcome.dataset.outcome = last ? last.outcome : "none";
    v.duration.textContent = last ? ms(last.ms) : "";
    v.failures.textContent =
      row.fail_max === null || row.fail_max === undefined
        ? `${row.failures} failures`
        : `${row.failures}/${row.fail_max} failures`;
    const rates = row.rates || {};
    const rateParts = [];
    if (rates.failure !== undefined) rateParts.push(`${Math.round(rates.failure * 100)}% failed`);
    if (rates.slow !== undefined) rateParts.push(`${Math.round(rates.slow * 100)}% slow`);
    v.rates.textContent = rateParts.join(", ");
    v.error.textContent = (last && last.error) || row.detail || "";
    v.chip.hidden = !row.fault;
    v.chipText.textContent = row.fault ? `fault: ${row.fault}` : "";
    if (v.select && v.select.value !== (row.fault_kind || "none")) v.select.value = row.fault_kind || "none";
    this.drawSpark(v, row);
    this.moveRow(v, this.now());
  }

  moveRow(v, now) {
    const row = v.row;
    if (!row) return;
    v.trial.textContent = trialText(row, now);
    if (row.since === null || row.since === undefined) {
      v.since.textContent = row.state === "closed" ? "" : "since before this view";
      v.age.textContent = "";
    } else {
      v.since.textContent = `${row.state} since ${clock(row.since)}`;
      v.age.textContent = `for ${ageText(now - row.since)}`;
    }
  }

  drawSpark(v, row) {
    const [durations, letters] = row.spark || [[], ""];
    const points = durations.map((value, i) => [value, letters[i]]);
    const timeout = (row.timeout || 0) * 1000;
    const top = Math.max(timeout, ...points.map((p) => p[0]), 1);
    const width = 124;
    const height = 26;
    const size = Math.max(this.m.head.window || 50, points.length, 1);
    const step = width / size;
    v.spark.replaceChildren(v.sparkTitle);
    const x0 = width - points.length * step;
    points.forEach(([value, code], i) => {
      const skipped = code === "c";
      // square-root scale: a 30 ms call still shows next to a 500 ms timeout
      const bar = skipped ? 2 : Math.max(2, Math.sqrt(value / top) * (height - 2));
      v.spark.append(
        svg("rect", {
          class: `toolkit-spark-${OUTCOMES[code] || "error"}`,
          x: (x0 + i * step).toFixed(1),
          y: (height - bar).toFixed(1),
          width: Math.max(step - 0.6, 0.8).toFixed(1),
          height: bar.toFixed(1),
        }),
      );
    });
    if (timeout > 0) {
      const y = (height - Math.sqrt(timeout / top) * (height - 2)).toFixed(1);
      v.spark.append(svg("line", { class: "toolkit-spark-timeout", x1: 0, x2: width, y1: y, y2: y }));
    }
    const fig = row.fig || {};
    const counts = [
      [fig.ok, "ok"],
      [fig.errors, "errors"],
      [fig.timeouts, "timeouts"],
      [fig.skipped, "skipped"],
    ]
      .filter(([n]) => n)
      .map(([n, what]) => `${n} ${what}`)
      .join(", ");
    v.sparkTitle.textContent =
      `last ${points.length} calls${counts ? `: ${counts}` : ""}` +
      (timeout > 0 ? `; dashed line: timeout ${ms(timeout)}` : "") +
      "; bar height: square root of the latency";
    v.sparkCaption.textContent = fig.p95 !== null && fig.p95 !== undefined ? `p95 ${ms(fig.p95)}` : "";
  }

  // -------------------------------------------------------------- timeline
  drawTimeline(now) {
    const m = this.m;
    const span = m.head.span || 300;
    const start = now - span;
    const lanes = [];
    let quiet = 0;
    for (const name of m.order || []) {
      const row = m.rows[name];
      const changes = row.lane || [];
      const moved = changes.some(([at]) => at >= start);
      if (!moved && row.state === "closed") {
        quiet += 1;
        continue;
      }
      lanes.push([row, changes]);
    }
    const el = this.timelineEl;
    el.replaceChildren();
    el.append(h("h4", "toolkit-heading", `Breaker states, last ${Math.round(span / 60)} min`));
    if (!lanes.length) {
      el.append(h("p", "toolkit-empty", `No breaker changed state in the last ${Math.round(span / 60)} min.`));
      return;
    }
    for (const [row, changes] of lanes.slice(0, 40)) {
      const lane = h("div", "toolkit-lane");
      lane.dataset.name = row.name;
      lane.append(h("span", "toolkit-lane-name", row.label));
      const track = h("div", "toolkit-lane-track");
      let state = "closed";
      let from = start;
      const segments = [];
      for (const [at, next] of changes) {
        if (at <= start) {
          state = next;
          continue;
        }
        segments.push([from, at, state]);
        from = at;
        state = next;
      }
      segments.push([from, now, state]);
      for (const [a, b, s] of segments) {
        if (b <= a) continue;
        const seg = h("div", "toolkit-seg");
        seg.dataset.state = s;
        // The current state is anchored at "now" and never thinner than a few pixels, so a
        // breaker opened a second ago shows red at once even at 900 px.
        if (b === now) seg.style.right = "0";
        else seg.style.left = `${(((a - start) / span) * 100).toFixed(2)}%`;
        seg.style.width = `${(((b - a) / span) * 100).toFixed(2)}%`;
        if (b === now) seg.style.minWidth = "4px";
        seg.title = `${s} ${clock(a)} to ${clock(b)}`;
        track.append(seg);
      }
      lane.append(track);
      el.append(lane);
    }
    const axis = h("div", "toolkit-axis");
    axis.append(h("span", "toolkit-lane-name", ""));
    const ticks = h("div", "toolkit-axis-ticks");
    ticks.append(h("span", null, `${clock(start)} (−${Math.round(span / 60)} min)`), h("span", null, `${clock(now)} now`));
    axis.append(ticks);
    el.append(axis);
    const notes = [];
    if (lanes.length > 40) notes.push(`${lanes.length - 40} more lanes not drawn`);
    if (quiet) notes.push(`${quiet} closed throughout`);
    if (notes.length) el.append(h("p", "toolkit-caption", notes.join("; ")));
  }

  // ----------------------------------------------------------------- tables
  drawTables() {
    const m = this.m;
    this.tablesEl.replaceChildren();
    const side = h("div", "toolkit-side");
    side.append(this.latencyTable(), this.eventsTable());
    this.tablesEl.append(side, this.callsTable());
    if (m.workers) this.tablesEl.append(this.workersTable());
  }

  table(kind, title, headers, rows, caption, empty) {
    const box = h("section", `toolkit-table-box toolkit-${kind}-box`);
    box.append(h("h4", "toolkit-heading", title));
    if (!rows.length) {
      box.append(h("p", `toolkit-empty toolkit-${kind}-empty`, empty));
      return box;
    }
    const t = h("table", `toolkit-table toolkit-${kind}`);
    t.dataset.rows = String(rows.length);
    const tr = h("tr");
    for (const title of headers) tr.append(h("th", null, title));
    const thead = h("thead");
    thead.append(tr);
    const tbody = h("tbody");
    for (const [attrs, cells] of rows) {
      const r = h("tr");
      Object.assign(r.dataset, attrs);
      cells.forEach((c, i) => {
        const td = c instanceof Node ? c : h("td", null, c);
        td.dataset.label = headers[i];
        r.append(td);
      });
      tbody.append(r);
    }
    t.append(thead, tbody);
    box.append(t, h("div", "toolkit-caption", caption));
    return box;
  }

  chipCell(before, after) {
    const td = h("td", "toolkit-wrap");
    if (before === after) {
      const chip = h("span", "toolkit-chip", after);
      chip.dataset.state = after;
      td.append(chip);
      return td;
    }
    const a = h("span", "toolkit-chip", before);
    a.dataset.state = before;
    const b = h("span", "toolkit-chip", after);
    b.dataset.state = after;
    td.append(a, document.createTextNode(" → "), b);
    return td;
  }

  outcomeCell(outcome, slow) {
    const td = h("td");
    const span = h("span", "toolkit-outcome", outcome + (slow ? " (slow)" : ""));
    span.dataset.outcome = outcome;
    td.append(span);
    return td;
  }

  num(text) {
    return h("td", "num", text);
  }

  callsTable() {
    const m = this.m;
    const fleet = m.head.kind === "fleet";
    const calls = (m.calls || []).slice().reverse();
    const rows = calls.map((c) => [
      { run: String(c.run ?? ""), name: c.name, ...(fleet ? { worker: c.worker } : {}) },
      [
        clockMs(c.at),
        ...(fleet ? [c.worker] : [this.num(String(c.run))]),
        h("td", "toolkit-wrap", c.name),
        this.outcomeCell(c.outcome, c.slow),
        this.num(ms(c.ms)),
        this.chipCell(c.before, c.after),
        ...(fleet ? [] : [h("td", "toolkit-wrap", c.fault || "")]),
        h("td", "toolkit-wrap", c.error || ""),
      ],
    ]);
    const headers = fleet
      ? ["time", "worker", "integration", "outcome", "duration", "breaker", "error"]
      : ["time", "run", "integration", "outcome", "duration", "breaker", "fault", "error"];
    const total = (m.head.totals || {}).calls ?? calls.length;
    const caption = fleet
      ? `${calls.length} most recent calls · all: fleet.calls()`
      : `${calls.length} most recent of ${total} calls · all: toolkit.frames.calls(runner)`;
    const empty = fleet ? "No calls in the stream yet: start a worker." : "No calls yet: press Run all.";
    return this.table("calls", "Recent calls", headers, rows, caption, empty);
  }

  eventsTable() {
    const m = this.m;
    const events = (m.events || []).slice().reverse();
    const rows = events.map((e) => [
      { name: e.name },
      [clockMs(e.at), h("td", "toolkit-wrap", e.name), this.chipCell(e.old, e.new)],
    ]);
    const total = (m.head.totals || {}).events ?? events.length;
    return this.table(
      "events",
      "Breaker events",
      ["time", "integration", "change"],
      rows,
      `${events.length} most recent of ${total} · all: toolkit.frames.events(runner)`,
      "No breaker has changed state yet.",
    );
  }

  latencyTable() {
    const m = this.m;
    const all = (m.order || []).map((n) => m.rows[n]).filter((r) => r.fig && r.fig.calls);
    all.sort((a, b) => (b.fig.p95 ?? -1) - (a.fig.p95 ?? -1) || (a.name < b.name ? -1 : 1));
    const shown = all.slice(0, m.head.recent || 20);
    const rows = shown.map((r) => {
      const f = r.fig;
      return [
        { name: r.name },
        [h("td", "toolkit-wrap", r.label), this.num(String(f.calls)), this.num(`${Math.round((f.ok / f.calls) * 100)}%`),
          this.num(ms(f.p50)), this.num(ms(f.p95)), this.num(ms(f.max)),
          this.num(String(f.errors + f.timeouts)), this.num(String(f.skipped))],
      ];
    });
    const more = all.length > shown.length ? `worst ${shown.length} of ${all.length} by p95 · ` : "";
    const source = m.head.kind === "fleet" ? "fleet.latency()" : "toolkit.frames.latency(runner)";
    return this.table(
      "latency",
      "Latency",
      ["integration", "calls", "ok", "p50", "p95", "max", "failed", "skipped"],
      rows,
      `${more}last ${m.head.window || 50} calls per integration · all: ${source}`,
      "No calls yet.",
    );
  }

  workersTable() {
    const rows = (this.m.workers || []).map((w) => [
      { worker: w.worker },
      [w.worker, this.num(String(w.calls)), w.last === null ? "" : clockMs(w.last)],
    ]);
    return this.table(
      "workers",
      "Workers",
      ["worker", "calls", "last call"],
      rows,
      "over the recent calls in the stream",
      "No worker has called yet.",
    );
  }

  // ------------------------------------------------------------------ tick
  tick() {
    if (!this.m.head) return;
    const now = this.now();
    for (const v of this.rowViews.values()) this.moveRow(v, now);
    const rows = (this.m.order || []).map((n) => this.m.rows[n]);
    this.headlineEl.textContent = headline(rows, now);
    this.headlineEl.dataset.failing = String(rows.some((r) => FAILING.has(r.state) || lastFailed(r)));
    const interval = (this.m.head.interval || 1) * 1000;
    const live = this.heard > 0 && Date.now() - this.heard < 2.5 * interval + 1000;
    this.live.dataset.live = String(live);
    this.live.textContent = live ? "● live" : "○ not live";
    this.live.title = live
      ? "the kernel refreshes this view"
      : "no word from the kernel lately: the view shows the last state it heard";
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.drawTimeline(now);
    }
  }
}

function render({ model, el }) {
  const view = new View(model, el);
  return () => view.destroy();
}

export default { render };
