// The efs-local dashboard: polls the server's own JSON endpoints and the EFS
// API (same origin, unsigned requests, which efs-local accepts), keeps a
// history of each file system's figures in the page and plots it as SVG.
// No libraries: the binary serves this file as it is (src/server/admin_ui.cc).
"use strict";

(function () {
  const params = new URLSearchParams(location.search);
  const INTERVAL_MS = Math.max(250, Number(params.get("interval_ms")) || 2000);
  const HISTORY = 300; // samples kept per file system
  const EFS = "/2015-02-01";
  const ADMIN = "/_efs-local";

  const state = {
    polls: 0,
    history: new Map(), // FileSystemId -> [{t, credits, metered, standard, ia, archive}]
    clockEpoch: null,
  };
  // For tests and curious people: the page's own record of what it saw.
  window.efsLocalUi = state;

  const $ = (sel, root = document) => root.querySelector(sel);

  async function getJson(path, init) {
    const r = await fetch(path, Object.assign({ cache: "no-store" }, init));
    const text = await r.text();
    let body = null;
    try { body = text ? JSON.parse(text) : {}; } catch (e) { body = null; }
    if (!r.ok) {
      const why = body && (body.Message || body.message || body.ErrorCode);
      throw new Error(`${path}: HTTP ${r.status}${why ? ": " + why : ""}`);
    }
    if (body === null) throw new Error(`${path}: not JSON`);
    return body;
  }

  // Every page of a paginated EFS list call.
  async function listAll(path, member, tokenIn, tokenOut) {
    const out = [];
    let token = null;
    for (let page = 0; page < 1000; page++) {
      const sep = path.includes("?") ? "&" : "?";
      const url = token ? `${path}${sep}${tokenIn}=${encodeURIComponent(token)}` : path;
      const body = await getJson(url);
      out.push(...(body[member] || []));
      token = body[tokenOut];
      if (!token) break;
    }
    return out;
  }

  function bytes(n) {
    if (n === undefined || n === null || isNaN(n)) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let u = 0;
    let v = Number(n);
    while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return (u === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[u];
  }

  function text(el, value) { el.textContent = value; return el; }

  function facts(dl, pairs) {
    dl.replaceChildren();
    for (const [k, v] of pairs) {
      dl.append(text(document.createElement("dt"), k), text(document.createElement("dd"), v));
    }
  }

  // A polyline per series over a shared y range; x is the sample's real time.
  const SVG_NS = "http://www.w3.org/2000/svg";
  function plot(svg, samples, series) {
    svg.replaceChildren();
    const W = 320, H = 120, PAD = 4;
    if (samples.length === 0) return;
    const t0 = samples[0].t, t1 = samples[samples.length - 1].t;
    let ymax = 0;
    for (const s of series) for (const p of samples) ymax = Math.max(ymax, p[s.key] || 0);
    if (ymax <= 0) ymax = 1;
    const x = (t) => (t1 === t0 ? W - PAD : PAD + ((t - t0) / (t1 - t0)) * (W - 2 * PAD));
    const y = (v) => H - PAD - ((v || 0) / ymax) * (H - 2 * PAD);
    const axis = document.createElementNS(SVG_NS, "line");
    axis.setAttribute("x1", 0); axis.setAttribute("x2", W);
    axis.setAttribute("y1", H - PAD); axis.setAttribute("y2", H - PAD);
    axis.setAttribute("class", "axis");
    svg.append(axis);
    for (const s of series) {
      const line = document.createElementNS(SVG_NS, "polyline");
      line.setAttribute("points", samples.map((p) => `${x(p.t).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(" "));
      line.setAttribute("class", "series " + s.cls);
      line.setAttribute("vector-effect", "non-scaling-stroke");
      svg.append(line);
      if (samples.length === 1) { // a single sample is a dot
        const dot = document.createElementNS(SVG_NS, "circle");
        dot.setAttribute("cx", x(samples[0].t)); dot.setAttribute("cy", y(samples[0][s.key]));
        dot.setAttribute("r", 3); dot.setAttribute("class", "dot " + s.cls);
        svg.append(dot);
      }
    }
    svg.dataset.samples = String(samples.length);
    svg.dataset.max = String(ymax);
  }

  function fsCard(id) {
    let card = document.getElementById("fs-" + id);
    if (!card) {
      card = $("#fs-template").content.firstElementChild.cloneNode(true);
      card.id = "fs-" + id;
      card.dataset.fileSystemId = id;
      $("#file-systems").append(card);
    }
    return card;
  }

  function row(tbody, cells) {
    const tr = document.createElement("tr");
    for (const c of cells) tr.append(text(document.createElement("td"), c));
    tbody.append(tr);
    return tr;
  }

  function renderFileSystem(fs, mts, aps, tp) {
    const id = fs.FileSystemId;
    const card = fsCard(id);
    text($(".fs-id", card), id);
    text($(".fs-name", card), fs.Name || "");
    const badge = text($(".fs-state", card), fs.LifeCycleState);
    badge.dataset.state = fs.LifeCycleState;
    const size = fs.SizeInBytes || {};
    const mode = fs.ThroughputMode + (fs.ThroughputMode === "provisioned"
      ? ` (${fs.ProvisionedThroughputInMibps} MiB/s)` : "");
    facts($(".fs-facts", card), [
      ["throughput mode", mode],
      ["performance mode", fs.PerformanceMode || "–"],
      ["encrypted", fs.Encrypted ? "yes" + (fs.KmsKeyId ? " (" + fs.KmsKeyId.split("/").pop() + ")" : "") : "no"],
      ["size", bytes(size.Value)],
      ["Standard", bytes(size.ValueInStandard)],
      ["Infrequent Access", bytes(size.ValueInIA)],
      ["Archive", bytes(size.ValueInArchive)],
      ["burst credits", tp ? bytes(tp.BurstCreditBalance) : "–"],
      ["permitted throughput", tp ? bytes(tp.PermittedThroughput) + "/s" : "–"],
      ["metered I/O (total)", tp ? bytes(tp.MeteredIOBytes) : "–"],
      ["read / write / metadata", tp ? `${bytes(tp.DataReadIOBytes)} / ${bytes(tp.DataWriteIOBytes)} / ${bytes(tp.MetadataIOBytes)}` : "–"],
      ["client connections", tp ? String(tp.ClientConnections) : "–"],
    ]);

    const mtBody = $(".mount-targets tbody", card);
    mtBody.replaceChildren();
    for (const m of mts) {
      row(mtBody, [m.MountTargetId, m.AvailabilityZoneName || "–", m.IpAddress || m.Ipv6Address || "–",
        m.LifeCycleState, `mount -t nfs4 -o vers=4.1 ${m.IpAddress || "127.0.0.1"}:/ /mnt/efs`]);
    }
    if (mts.length === 0) row(mtBody, ["none", "", "", "", `mount -t nfs4 -o vers=4.1 ${location.hostname}:/${id} /mnt/efs`]);

    const apBody = $(".access-points tbody", card);
    apBody.replaceChildren();
    for (const a of aps) {
      const u = a.PosixUser ? `${a.PosixUser.Uid}:${a.PosixUser.Gid}` : "–";
      row(apBody, [a.AccessPointId, a.Name || "", u, (a.RootDirectory && a.RootDirectory.Path) || "/", a.LifeCycleState]);
    }
    if (aps.length === 0) row(apBody, ["none", "", "", "", ""]);

    // History and plots.
    let h = state.history.get(id);
    if (!h) { h = []; state.history.set(id, h); }
    const now = Date.now() / 1000;
    const prev = h[h.length - 1];
    const metered = tp ? tp.MeteredIOBytes : 0;
    let rate = 0;
    if (prev && now > prev.t && metered >= prev.metered) rate = (metered - prev.metered) / (now - prev.t);
    h.push({
      t: now,
      credits: tp ? tp.BurstCreditBalance : 0,
      metered,
      rate,
      standard: size.ValueInStandard || 0,
      ia: size.ValueInIA || 0,
      archive: size.ValueInArchive || 0,
    });
    while (h.length > HISTORY) h.shift();
    plot($(".plot-credits", card), h, [{ key: "credits", cls: "credits" }]);
    text($(".plot-credits-label", card), tp ? `now ${bytes(tp.BurstCreditBalance)}` : "no metering");
    plot($(".plot-io", card), h, [{ key: "rate", cls: "io" }]);
    text($(".plot-io-label", card), `now ${bytes(rate)}/s`);
    plot($(".plot-size", card), h, [
      { key: "standard", cls: "standard" }, { key: "ia", cls: "ia" }, { key: "archive", cls: "archive" }]);
    text($(".plot-size-label", card), `Standard ${bytes(size.ValueInStandard)}, IA ${bytes(size.ValueInIA)}, Archive ${bytes(size.ValueInArchive)}`);
  }

  function renderClock(clock) {
    if (!clock) return;
    const el = text($("#clock-now"), clock.now);
    el.dataset.epoch = String(clock.now_epoch_seconds);
    state.clockEpoch = clock.now_epoch_seconds;
    const off = Number(clock.offset_seconds || 0);
    text($("#clock-offset"), off > 0 ? `(${(off / 86400).toFixed(2)} days ahead of real time)` : "(real time)");
  }

  async function poll() {
    try {
      const [status, health, fileSystems] = await Promise.all([
        getJson(ADMIN + "/status"),
        getJson(ADMIN + "/health"),
        listAll(EFS + "/file-systems?MaxItems=100", "FileSystems", "Marker", "NextMarker"),
      ]);
      renderClock(status.clock);
      text($("#server"), `version ${health.version}, NFS port ${health.nfs_port}, API port ${health.api_port}, data in ${health.data_dir}`);
      facts($("#status"), [
        ["file systems", String(fileSystems.length)],
        ["NFS connections", String(status.nfs_connections ?? "–")],
        ["HTTP connections", String(status.http_connections ?? "–")],
        ["mount targets served", String(status.mount_targets_served ?? "–")],
        ["uptime", `${Math.round(health.uptime_seconds)} s`],
      ]);
      const seen = new Set();
      await Promise.all(fileSystems.map(async (fs) => {
        const id = fs.FileSystemId;
        seen.add(id);
        const [mts, aps, tp] = await Promise.all([
          listAll(`${EFS}/mount-targets?FileSystemId=${id}&MaxItems=100`, "MountTargets", "Marker", "NextMarker"),
          listAll(`${EFS}/access-points?FileSystemId=${id}&MaxResults=100`, "AccessPoints", "NextToken", "NextToken"),
          getJson(`${ADMIN}/file-systems/${id}/throughput`).catch(() => null),
        ]);
        renderFileSystem(fs, mts, aps, tp);
      }));
      for (const card of document.querySelectorAll("article.fs")) {
        if (!seen.has(card.dataset.fileSystemId)) { card.remove(); state.history.delete(card.dataset.fileSystemId); }
      }
      $("#no-file-systems").hidden = fileSystems.length > 0;
      text($("#error"), "");
    } catch (e) {
      text($("#error"), String(e.message || e));
    }
    state.polls++;
    document.body.dataset.polls = String(state.polls);
  }

  async function advance(seconds) {
    const result = $("#clock-result");
    try {
      const clock = await getJson(ADMIN + "/clock", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ advance_seconds: Number(seconds) }),
      });
      renderClock(clock);
      text(result, `advanced ${seconds} s`);
      poll();
    } catch (e) {
      text(result, String(e.message || e));
    }
  }

  $("#clock-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    advance($("#clock-seconds").value);
  });
  for (const b of document.querySelectorAll("button.quick")) {
    b.addEventListener("click", () => advance(b.dataset.seconds));
  }
  text($("#interval"), String(INTERVAL_MS / 1000));
  text($("#history"), String(HISTORY));

  let running = false;
  async function loop() {
    if (!running) { running = true; await poll(); running = false; }
    setTimeout(loop, INTERVAL_MS);
  }
  loop();
})();
