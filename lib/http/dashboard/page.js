// The duckserve dashboard: reads the live feed (Server-Sent Events, read with fetch so the key
// travels in the X-API-Key header, never in a URL) and draws it with uPlot.
(function () {
  "use strict";
  const KEY = "duckserve.dashboard.key";
  const WINDOW = 300; // seconds shown
  const $ = (id) => document.getElementById(id);
  const state = { key: sessionStorage.getItem(KEY), charts: {}, data: null, abort: null };

  function setStatus(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = `status ${kind ?? ""}`;
  }

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  const fmt = {
    n: (v) => v === null || v === undefined ? "–" : Number(v).toLocaleString("en"),
    ms: (v) => v === null || v === undefined ? "–" : v < 10 ? v.toFixed(2) : v.toFixed(0),
    pct: (v) => v === null || Number.isNaN(v) ? "–" : `${(v * 100).toFixed(1)} %`,
    bytes: (v) => {
      if (v === null || v === undefined) return "–";
      const units = ["B", "KiB", "MiB", "GiB", "TiB"];
      let i = 0;
      while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
      }
      return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
    },
  };

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function fillTable(id, rows, columns, build) {
    const body = $(id).tBodies[0];
    body.replaceChildren();
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = cell("None");
      td.colSpan = columns;
      tr.append(td);
      body.append(tr);
      return;
    }
    for (const row of rows) body.append(build(row));
  }

  // ---- charts ----
  function makeChart(id, series, scale) {
    const el = $(id);
    const grid = { stroke: css("--grid") };
    const axis = { stroke: css("--muted"), grid, ticks: grid };
    const opts = {
      width: Math.max(el.clientWidth, 200),
      height: 200,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        y: scale ?? { range: (_u, _min, max) => [0, Math.max(1, max)] },
      },
      axes: [axis, axis],
      series: [{}, ...series.map(([label, color]) => ({ label, stroke: css(color), width: 2 }))],
    };
    const data = [[], ...series.map(() => [])];
    const chart = new uPlot(opts, data, el);
    new ResizeObserver(() => chart.setSize({ width: Math.max(el.clientWidth, 200), height: 200 }))
      .observe(el);
    return { chart, data };
  }

  function initCharts() {
    if (state.charts.rps) return;
    state.charts = {
      rps: makeChart("chart-rps", [["requests/s", "--accent"], ["errors/s", "--bad"], [
        "rate limited/s",
        "--warn",
      ]]),
      latency: makeChart("chart-latency", [["p50", "--ok"], ["p95", "--warn"], ["p99", "--bad"]]),
      load: makeChart("chart-load", [["in flight", "--accent"], ["running", "--ok"], [
        "queued",
        "--warn",
      ]]),
      memory: makeChart("chart-memory", [["memory", "--accent"], ["spill", "--bad"]]),
    };
  }

  function push(name, t, values) {
    const { chart, data } = state.charts[name];
    data[0].push(t);
    values.forEach((v, i) => data[i + 1].push(v));
    if (data[0].length > WINDOW) { for (const column of data) column.shift(); }
    return chart;
  }

  function addFrame(frame, redraw) {
    const t = frame.t / 1000;
    const all = frame.latency["*"] ?? {};
    const mib = (b) => b === null || b === undefined ? null : b / 1048576;
    const charts = [
      push("rps", t, [frame.requests, frame.errors, frame.rate_limited]),
      push("latency", t, [all.p50 ?? null, all.p95 ?? null, all.p99 ?? null]),
      push("load", t, [frame.in_flight, frame.running, frame.queued]),
      push("memory", t, [mib(frame.duckdb?.memory_bytes), mib(frame.duckdb?.spill_bytes)]),
    ];
    if (redraw) {
      for (const name of ["rps", "latency", "load", "memory"]) {
        state.charts[name].chart.setData(state.charts[name].data);
      }
    }
    return charts;
  }

  // ---- numbers and tables ----
  function stat(label, value) {
    const div = document.createElement("div");
    div.className = "stat";
    const l = document.createElement("div");
    l.className = "label";
    l.textContent = label;
    const v = document.createElement("div");
    v.className = "value";
    v.textContent = value;
    div.append(l, v);
    return div;
  }

  function showStats(frame) {
    const cached = frame.cache_hits + frame.cache_misses;
    const answered = frame.requests;
    const pool = frame.pool;
    const streams = frame.streams;
    $("stats").replaceChildren(
      stat("Requests/s", fmt.n(frame.requests)),
      stat("Error rate (5xx)", answered ? fmt.pct(frame.errors / answered) : "–"),
      stat("4xx/s", fmt.n(frame.client_errors)),
      stat("Cache hit rate", cached ? fmt.pct(frame.cache_hits / cached) : "–"),
      stat("Rate limited/s", fmt.n(frame.rate_limited)),
      stat("Shed/s", fmt.n(frame.shed)),
      stat("Connections", fmt.n(frame.connections)),
      stat("In flight", fmt.n(frame.in_flight)),
      stat("Running", fmt.n(frame.running)),
      stat("Queued", fmt.n(frame.queued)),
      stat("Pool busy/idle", pool ? `${pool.busy} / ${pool.idle}` : "–"),
      stat("Pool waiting", pool ? fmt.n(pool.waiting) : "–"),
      stat("DuckDB memory", fmt.bytes(frame.duckdb?.memory_bytes)),
      stat("DuckDB spill", fmt.bytes(frame.duckdb?.spill_bytes)),
      stat("Streams", streams ? fmt.n(streams.streams) : "off"),
      stat("Stream bytes", streams ? fmt.bytes(streams.bytes) : "–"),
      stat("Live readers", streams ? fmt.n(streams.readers) : "–"),
    );
  }

  function progressBar(progress) {
    const bar = document.createElement("span");
    const fill = document.createElement("span");
    bar.className = progress === null ? "bar unknown" : "bar";
    bar.setAttribute("role", "progressbar");
    if (progress !== null) {
      fill.style.width = `${(progress * 100).toFixed(1)}%`;
      bar.setAttribute("aria-valuenow", String(Math.round(progress * 100)));
      bar.title = `${(progress * 100).toFixed(1)} %`;
    } else bar.title = "DuckDB does not report progress for this query";
    bar.append(fill);
    const td = document.createElement("td");
    td.append(bar);
    return td;
  }

  function showQueries(queries) {
    $("running-count").textContent = `(${queries.length})`;
    fillTable("running", queries, 8, (q) => {
      const tr = document.createElement("tr");
      tr.dataset.requestId = q.request_id;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "cancel";
      button.textContent = q.canceled ? "Canceling" : "Cancel";
      button.disabled = q.canceled;
      button.addEventListener("click", () => cancelQuery(q.request_id, button));
      const action = document.createElement("td");
      action.append(button);
      tr.append(
        cell(q.request_id),
        cell(q.key_id ?? "–"),
        cell(q.route),
        cell(`${q.elapsed.toFixed(1)} s`),
        cell(fmt.n(q.rows)),
        progressBar(q.progress),
        cell(q.sql ?? "", "sql"),
        action,
      );
      return tr;
    });
  }

  function showRoutes(latency) {
    const rows = Object.entries(latency).filter(([r]) => r !== "*").sort((a, b) =>
      b[1].count - a[1].count
    );
    fillTable("routes", rows, 5, ([route, p]) => {
      const tr = document.createElement("tr");
      tr.append(
        cell(route),
        cell(fmt.n(p.count)),
        cell(fmt.ms(p.p50)),
        cell(fmt.ms(p.p95)),
        cell(fmt.ms(p.p99)),
      );
      return tr;
    });
  }

  function showSlowest(slowest) {
    fillTable("slowest", slowest, 7, (q) => {
      const tr = document.createElement("tr");
      tr.append(
        cell(q.request_id),
        cell(q.key_id ?? "–"),
        cell(q.route ?? "–"),
        cell(String(q.status)),
        cell(q.duration.toFixed(3)),
        cell(fmt.n(q.rows)),
        cell(q.sql ?? "", "sql"),
      );
      return tr;
    });
  }

  async function cancelQuery(id, button) {
    button.disabled = true;
    button.textContent = "Canceling";
    const response = await fetch(`queries/${encodeURIComponent(id)}`, {
      method: "DELETE",
      headers: { "x-api-key": state.key },
    });
    if (response.status !== 202) button.textContent = `Failed (${response.status})`;
  }

  // ---- the feed ----
  function onEvent(name, data) {
    if (name === "hello") {
      $("version").textContent = data.version;
      initCharts();
      // A reconnect starts over from the server's history.
      for (const c of Object.values(state.charts)) for (const column of c.data) column.length = 0;
      for (const frame of data.history) addFrame(frame, false);
      for (const c of Object.values(state.charts)) c.chart.setData(c.data);
      if (data.history.length) showStats(data.history[data.history.length - 1]);
    } else if (name === "tick") {
      addFrame(data.frame, true);
      showStats(data.frame);
      showQueries(data.queries);
      showRoutes(data.latency_5m);
      showSlowest(data.slowest);
      document.body.dataset.ticks = String(Number(document.body.dataset.ticks ?? 0) + 1);
    }
  }

  async function readFeed() {
    state.abort = new AbortController();
    const response = await fetch("dashboard/feed", {
      headers: { "x-api-key": state.key, accept: "text/event-stream" },
      signal: state.abort.signal,
    });
    if (response.status === 401 || response.status === 403) {
      const problem = await response.json().catch(() => ({}));
      forget();
      setStatus(problem.detail ?? `Refused (${response.status})`, "error");
      return false;
    }
    if (!response.ok) throw new Error(`feed answered ${response.status}`);
    $("key-form").hidden = true;
    $("board").hidden = false;
    $("forget").hidden = false;
    setStatus("Live", "live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return true;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) name = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (data) onEvent(name, JSON.parse(data));
      }
    }
  }

  async function connect() {
    while (state.key) {
      try {
        const again = await readFeed();
        if (!again) return;
        setStatus("Reconnecting…", "error");
      } catch (err) {
        if (!state.key) return;
        setStatus(`Disconnected: ${err.message}; retrying`, "error");
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  function forget() {
    sessionStorage.removeItem(KEY);
    state.key = null;
    state.abort?.abort();
    $("key-form").hidden = false;
    $("forget").hidden = true;
    setStatus("Not connected");
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = $("api-key").value.trim();
    $("api-key").value = "";
    if (!state.key) return;
    sessionStorage.setItem(KEY, state.key);
    setStatus("Connecting…");
    connect();
  });
  $("forget").addEventListener("click", () => {
    forget();
    $("board").hidden = true;
  });

  if (state.key) {
    setStatus("Connecting…");
    connect();
  } else $("key-form").hidden = false;
})();
