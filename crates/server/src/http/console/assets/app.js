// The Switchboard console: a page per hash route (#/, #/connections, #/connections/{id}, #/rooms, #/rooms/{id},
// #/logging, #/functions), reading the JSON API under
// /@switchboard/console/api and its live event stream (Server-Sent Events). Plain JS, no build step.
"use strict";

const API = "/@switchboard/console/api/";
const main = document.getElementById("main");
let cleanup = [];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class SignInRequired extends Error {}

// Every call carries the console's header, which the server asks of state-changing calls.
async function api(path, options) {
  const init = Object.assign({ credentials: "same-origin" }, options);
  init.headers = Object.assign({ "x-switchboard-console": "1" }, init.headers);
  const response = await fetch(API + path, init);
  if (response.status === 401) throw new SignInRequired();
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.message || response.statusText), { status: response.status });
  return body;
}

function live(params, onEvent) {
  const query = new URLSearchParams(params).toString();
  const source = new EventSource(API + "events?" + query);
  const dot = document.getElementById("live-state");
  source.onopen = () => dot.classList.add("on");
  source.onerror = () => dot.classList.remove("on");
  const types = ["opened", "frameIn", "frameOut", "route", "management", "limit", "closed", "lagged"];
  for (const type of types) source.addEventListener(type, (e) => onEvent(type, JSON.parse(e.data)));
  cleanup.push(() => { source.close(); dot.classList.remove("on"); });
  return source;
}

function every(ms, fn) {
  const timer = setInterval(fn, ms);
  cleanup.push(() => clearInterval(timer));
}

function time(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

function sparkline(values) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 150 40");
  svg.setAttribute("preserveAspectRatio", "none");
  const max = Math.max(1, ...values);
  const points = values.map((v, i) => `${(i * 150) / Math.max(1, values.length - 1)},${38 - (v / max) * 36}`);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.join(" "));
  svg.append(line);
  return svg;
}

// Rates over the last five minutes, from the capture's totals sampled every two seconds: the server's history of them
// when the page opens, then the page's own samples.
const samples = [];
const SAMPLE_MS = 2000;
const KEPT_SAMPLES = 150;

function rates(key) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i].at - samples[i - 1].at) / 1000;
    out.push(dt > 0 ? Math.max(0, (samples[i].totals[key] - samples[i - 1].totals[key]) / dt) : 0);
  }
  return out.length ? out : [0];
}

async function overview() {
  const draw = async () => {
    const data = await api("overview");
    if (data.history && samples.length === 0) samples.push(...data.history);
    if (data.totals) {
      samples.push({ at: Date.now(), totals: data.totals, connections: data.connections });
      while (samples.length > KEPT_SAMPLES) samples.shift();
    }
    const card = (label, value, series, id) =>
      el("div", { class: "card" }, el("div", { class: "muted" }, label), el("div", { class: "n", "data-testid": id }, value),
        series ? sparkline(series) : null);
    const last = (series) => series[series.length - 1].toFixed(1) + "/s";
    main.replaceChildren(
      el("h1", {}, "Overview"),
      el("p", { class: "muted", "data-testid": "scope" }, `Served by node ${data.node} (status ${data.status}). `,
        data.scope === "cluster"
          ? `Connections, stages and rooms are the whole cluster's (${(data.nodes || [data.node]).length > 1 ? "nodes" : "node"} ${(data.nodes || [data.node]).join(", ")}); `
          : `Connections, stages and rooms are those of the nodes that answered: node${data.missing.length > 1 ? "s" : ""} ${data.missing.join(", ")} did not; `,
        `rates, limits and traffic are node ${data.node}'s. `,
        `Bus: ${data.cluster.backend} (${data.cluster.state}${data.cluster.fenced ? ", fenced" : ""}). `,
        data.nodes ? "" : "The bus did not list the nodes."),
      el("div", { class: "cards" },
        card("Live connections", data.connections, samples.map((s) => s.connections), "total-connections"),
        card("Messages in", last(rates("framesIn")), rates("framesIn"), "rate-in"),
        card("Deliveries out", last(rates("framesOut")), rates("framesOut"), "rate-out"),
        card("Limits hit", data.totals ? data.totals.limits : "–", rates("limits"), "limits-hit")),
      el("h2", {}, "APIs and stages"),
      el("table", { "data-testid": "stages" },
        el("tr", {}, el("th", {}, "API"), el("th", {}, "Stage"), el("th", {}, "Connections")),
        data.stages.map((s) => el("tr", {}, el("td", {}, s.api),
          el("td", {}, el("a", { href: "#/connections?stage=" + encodeURIComponent(s.stage) }, s.stage)),
          el("td", { "data-testid": `stage-count-${s.stage}` }, s.connections)))),
      el("h2", {}, "Chat rooms"),
      data.rooms.length
        ? el("table", {}, el("tr", {}, el("th", {}, "Room"), el("th", {}, "Members")),
          data.rooms.map((r) => el("tr", {}, el("td", {}, el("a", { href: "#/connections?room=" + encodeURIComponent(r.room) }, r.room)),
            el("td", {}, r.members))))
        : el("p", { class: "muted" }, "No room has members."),
      el("p", { class: "muted" }, `Capture holds ${data.kept.events} events (${Math.round(data.kept.bytes / 1024)} KiB).`));
  };
  await draw();
  every(SAMPLE_MS, () => draw().catch(handle));
}

async function connections(params) {
  let page = 0;
  const search = el("input", { type: "search", placeholder: "Search id, address, user agent, user", value: params.get("q") || "", "data-testid": "search" });
  const stage = el("input", { placeholder: "stage", value: params.get("stage") || "", size: 8 });
  const room = el("input", { placeholder: "room", value: params.get("room") || "", size: 10 });
  const group = el("input", { placeholder: "group", value: params.get("group") || "", size: 8 });
  const table = el("table", { "data-testid": "connections" });
  const pager = el("div", { class: "pager" });
  const missing = el("p", { class: "notice-line", "data-testid": "missing-nodes" });
  const draw = async () => {
    const query = new URLSearchParams({ q: search.value, stage: stage.value, room: room.value, group: group.value, page, pageSize: 25 });
    const data = await api("connections?" + query);
    table.replaceChildren(
      el("tr", {}, el("th", {}, "Connection"), el("th", {}, "Stage / room"), el("th", {}, "Node"), el("th", {}, "Source"), el("th", {}, "User agent"), el("th", {}, "Connected")),
      ...data.items.map((c) => el("tr", {},
        el("td", { class: "id" }, el("a", { href: "#/connections/" + c.id, "data-testid": "connection-link" }, c.id)),
        el("td", {}, c.stage ? `${c.api} / ${c.stage}` : `room ${c.room} (${c.user})`), el("td", {}, c.node),
        el("td", {}, c.sourceIp), el("td", {}, c.userAgent || ""), el("td", {}, c.connectedAt))));
    missing.textContent = data.missing.length ? `Node${data.missing.length > 1 ? "s" : ""} ${data.missing.join(", ")} did not answer: ${data.missing.length > 1 ? "their" : "its"} connections are not listed.` : "";
    const pages = Math.max(1, Math.ceil(data.total / data.pageSize));
    pager.replaceChildren(
      el("button", { on: { click: () => { page = Math.max(0, page - 1); draw(); } }, ...(page === 0 ? { disabled: "" } : {}) }, "Previous"),
      el("span", { class: "muted" }, `Page ${page + 1} of ${pages} · ${data.total} live`),
      el("button", { on: { click: () => { page += 1; draw(); } }, ...(page + 1 >= pages ? { disabled: "" } : {}) }, "Next"));
  };
  for (const input of [search, stage, room, group]) input.addEventListener("input", () => { page = 0; draw().catch(handle); });
  main.replaceChildren(el("h1", {}, "Connections"), el("p", { class: "muted" }, "Every node's live connections, newest first."),
    el("div", { class: "toolbar" }, search, stage, room, group), missing, table, pager);
  await draw();
  live({}, (type) => { if (type === "opened" || type === "closed") draw().catch(handle); });
  every(5000, () => draw().catch(handle));
}

// JSON text indented for reading; anything else as it is.
function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

function describeEvent(e) {
  const pre = (label, text) => el("details", { open: "" }, el("summary", {}, label), el("pre", {}, pretty(text)));
  switch (e.type) {
    case "opened": return [`from ${e.sourceIp} at ${e.path}`];
    case "frameIn": return [el("code", { "data-testid": "frame-in" }, e.data)];
    case "frameOut": return [el("code", { "data-testid": "frame-out" }, e.data)];
    case "route": return [
      el("span", { "data-testid": "route-summary" }, `${e.route} → ${e.outcome}${e.status ? " " + e.status : ""} in ${e.latencyMs} ms`),
      pre("Event the integration received", e.event),
      e.answer !== null && e.answer !== undefined ? pre("Its answer", e.answer) : null];
    case "management": return [`${e.operation} → ${e.status}`];
    case "limit": return [`${e.limit}: ${e.detail}`];
    case "closed": return [el("span", { "data-testid": "closed" }, `${e.code} ${e.reason} (${e.cause})`)];
    case "lagged": return [`${e.skipped} events skipped (the page fell behind)`];
    default: return [JSON.stringify(e)];
  }
}

const LABELS = { opened: "opened", frameIn: "in", frameOut: "out", route: "route", management: "call", limit: "limit", closed: "closed", lagged: "lagged" };

async function connection(id) {
  const data = await api("connections/" + encodeURIComponent(id));
  const opened = data.events.find((e) => e.type === "opened");
  const info = data.live || {};
  const kv = (pairs) => el("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, typeof v === "object" ? JSON.stringify(v) : v)]));
  const log = el("div", { class: "log", "data-testid": "log" });
  const state = el("p", { "data-testid": "connection-state", class: data.live ? "status-ok" : "status-bad" }, data.live ? "Live" : "Closed");
  const add = (type, e) => {
    log.append(el("div", { class: "ev " + type, "data-type": type }, el("time", {}, e.at ? time(e.at) : ""), el("span", { class: "t" }, LABELS[type] || type), describeEvent(Object.assign({ type }, e))));
    log.scrollTop = log.scrollHeight;
    if (type === "closed") { state.textContent = "Closed"; state.className = "status-bad"; }
  };
  const message = el("textarea", { "data-testid": "send-text", placeholder: "Message to post to this connection" });
  const result = el("p", { class: "muted", "data-testid": "action-result" });
  const act = async (path, body) => {
    try {
      const answer = await api(`connections/${encodeURIComponent(id)}/${path}`, { method: "POST", body, headers: { "content-type": "text/plain" } });
      result.textContent = `${path}: ${answer.status}`;
    } catch (err) { if (err instanceof SignInRequired) throw err; result.textContent = `${path}: ${err.message}`; }
  };
  main.replaceChildren(
    el("h1", {}, "Connection ", el("code", {}, id)), state,
    el("div", { class: "grid2" },
      el("div", {}, el("h2", {}, "Identity"), kv([["API", info.api], ["Stage", info.stage], ["Room", info.room], ["User", info.user],
        ["Source", info.sourceIp || (opened && opened.sourceIp)], ["Connected", info.connectedAt],
        ["Last active", info.lastActiveAt], ["Groups", info.groups && info.groups.length ? info.groups.join(", ") : ""]])),
      el("div", {}, el("h2", {}, "Send a message"), message,
        el("div", { class: "toolbar" },
          el("button", { "data-testid": "send", on: { click: () => act("send", message.value).catch(handle) } }, "Send"),
          el("button", { class: "danger", "data-testid": "disconnect", on: { click: () => act("disconnect", "").catch(handle) } }, "Disconnect")),
        result)),
    el("h2", {}, "Traffic"), log,
    el("div", { class: "grid2" },
      el("div", {}, el("h2", {}, "Handshake headers"), opened ? kv(opened.headers) : el("p", { class: "muted" }, "No longer held.")),
      el("div", {}, el("h2", {}, "Authorizer context"),
        opened && opened.authorizer ? el("pre", {}, JSON.stringify(opened.authorizer, null, 2)) : el("p", { class: "muted" }, "None."))));
  live({ connection: id, backlog: 200 }, add);
}

async function rooms() {
  const draw = async () => {
    const data = await api("rooms");
    main.replaceChildren(el("h1", {}, "Chat rooms"),
      data.rooms.length
        ? el("table", { "data-testid": "rooms" },
          el("tr", {}, el("th", {}, "Room"), el("th", {}, "Name"), el("th", {}, "Members here"), el("th", {}, "Updated")),
          data.rooms.map((r) => el("tr", {},
            el("td", { class: "id" }, el("a", { href: "#/rooms/" + encodeURIComponent(r.id), "data-testid": "room-link" }, r.id)),
            el("td", {}, r.name || ""), el("td", {}, r.members), el("td", {}, r.updateTime || ""))))
        : el("p", { class: "muted" }, "No rooms. Create one with switchboard ivschat create-room."));
  };
  await draw();
  every(5000, () => draw().catch(handle));
}

// A form whose submission posts JSON to the console's API, saying the outcome (AWS's message on an error) in `result`.
// `build` returns the body, or throws to refuse with its message; `done` receives a successful answer. The title
// heads the form unless `headed` is false (a form under its own heading).
function apiForm(title, path, fields, result, build, done, headed = true) {
  const node = el("form", { class: "toolbar" }, headed ? el("strong", {}, title) : null, ...fields, el("button", { type: "submit" }, title));
  node.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let input;
    try { input = build(); } catch (err) { result.textContent = `${title}: ${err.message}`; return; }
    try {
      const answer = await api(typeof path === "function" ? path() : path,
        { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(input) });
      result.textContent = `${title}: ${answer.status}`;
      if (done) await done(answer);
    } catch (err) { if (err instanceof SignInRequired) return handle(err); result.textContent = `${title}: ${err.status || ""} ${err.message}`; }
  });
  return node;
}

// A number field's value, or undefined when it is empty (the setting is left as it is).
function numberOf(input) {
  return input.value === "" ? undefined : Number(input.value);
}

// The room's settings as a form of UpdateRoom's input; the logging configurations to choose from are listed.
async function roomSettings(room, shown) {
  const { loggingConfigurations } = await api("logging");
  const result = el("p", { class: "muted", "data-testid": "settings-result" });
  const input = (name, type, value) => el("input", { name, type, value: value ?? "", "data-testid": "settings-" + name, placeholder: name });
  const name = input("name", "text", room.name);
  const rate = input("maximumMessageRatePerSecond", "number", room.maximumMessageRatePerSecond);
  const length = input("maximumMessageLength", "number", room.maximumMessageLength);
  const handler = room.messageReviewHandler || {};
  const uri = input("reviewUri", "text", handler.uri);
  const fallback = el("select", { "data-testid": "settings-fallbackResult" }, ["ALLOW", "DENY"].map((v) =>
    el("option", Object.assign({ value: v }, handler.fallbackResult === v ? { selected: "" } : {}), v)));
  const chosen = new Set(room.loggingConfigurationIdentifiers || []);
  const boxes = loggingConfigurations.map((c) => el("input", Object.assign({ type: "checkbox", value: c.arn, "data-testid": "settings-logging-" + (c.name || c.id) },
    chosen.has(c.arn) || chosen.has(c.id) ? { checked: "" } : {})));
  const logging = el("div", { class: "choices" }, loggingConfigurations.length
    ? loggingConfigurations.map((c, i) => el("label", {}, boxes[i], ` ${c.name || c.id}`))
    : el("span", { class: "muted" }, "No logging configurations (create one on the Logging page)."));
  const labelled = (label, field) => el("label", { class: "field" }, el("span", { class: "muted" }, label), field);
  const form = apiForm("Save settings", `rooms/${encodeURIComponent(room.id)}/update`, [
    labelled("Name", name), labelled("Messages per second", rate), labelled("Message length", length),
    labelled("Review handler", uri), labelled("Fallback", fallback), labelled("Logging", logging)], result,
  () => ({
    name: name.value,
    maximumMessageRatePerSecond: numberOf(rate),
    maximumMessageLength: numberOf(length),
    messageReviewHandler: uri.value ? { uri: uri.value, fallbackResult: fallback.value } : { uri: "" },
    loggingConfigurationIdentifiers: boxes.filter((b) => b.checked).map((b) => b.value),
  }), (answer) => { shown.textContent = JSON.stringify(answer.answer, null, 2); }, false);
  form.classList.add("settings");
  form.setAttribute("data-testid", "room-settings-form");
  return el("div", {}, form, result);
}

// One room: its settings, its members on this node, its live stream, and the control plane's actions on it.
async function room(id) {
  const data = await api("rooms/" + encodeURIComponent(id));
  const settings = el("pre", { "data-testid": "room-settings" }, JSON.stringify(data.room, null, 2));
  const members = el("table", { "data-testid": "members" });
  const drawMembers = (list) => members.replaceChildren(
    el("tr", {}, el("th", {}, "User"), el("th", {}, "Connection"), el("th", {}, "Source"), el("th", {}, "Connected")),
    ...list.map((m) => el("tr", {}, el("td", {}, m.user),
      el("td", { class: "id" }, el("a", { href: "#/connections/" + m.id }, m.id)), el("td", {}, m.sourceIp), el("td", {}, m.connectedAt))));
  drawMembers(data.members);
  const log = el("div", { class: "log", "data-testid": "room-log" });
  // A frame fanned out to every member is shown once.
  const shown = new Set();
  const add = (type, e) => {
    if (type === "frameOut") {
      if (shown.has(e.data)) return;
      shown.add(e.data);
      if (shown.size > 1000) shown.delete(shown.values().next().value);
    }
    log.append(el("div", { class: "ev " + type, "data-type": type }, el("time", {}, e.at ? time(e.at) : ""),
      el("span", { class: "t" }, (LABELS[type] || type) + (e.user && type !== "frameOut" ? ` ${e.user}` : "")), describeEvent(Object.assign({ type }, e))));
    log.scrollTop = log.scrollHeight;
  };
  const result = el("p", { class: "muted", "data-testid": "room-result" });
  const field = (name, placeholder) => el("input", { name, placeholder, "data-testid": "room-" + name });
  const form = (title, action, fields, build) => apiForm(title, `rooms/${encodeURIComponent(id)}/${action}`, fields, result, build);
  const eventName = field("eventName", "event name"), attributes = field("attributes", '{"key": "value"}');
  const messageId = field("messageId", "message id"), userId = field("userId", "user id");
  const reason = field("reason", "reason");
  main.replaceChildren(
    el("h1", {}, "Room ", el("code", {}, data.room.id)),
    el("div", { class: "grid2" },
      el("div", {}, el("h2", {}, "Members on this node"), members),
      el("div", {}, el("h2", {}, "Act on the room"),
        form("Send event", "send-event", [eventName, attributes],
          () => ({ eventName: eventName.value, attributes: attributes.value ? JSON.parse(attributes.value) : undefined })),
        form("Delete message", "delete-message", [messageId], () => ({ id: messageId.value })),
        form("Disconnect user", "disconnect-user", [userId, reason], () => ({ userId: userId.value, reason: reason.value || undefined })),
        result)),
    el("h2", {}, "Live stream"), log,
    el("h2", {}, "Settings"), await roomSettings(data.room, settings), settings);
  live({ room: data.room.id, backlog: 200 }, add);
  every(5000, () => api("rooms/" + encodeURIComponent(id)).then((d) => drawMembers(d.members)).catch(handle));
}

// The hosted functions, each with its last invocations (when, how long, how it ended) and its log output.
async function functions() {
  const draw = async () => {
    const data = await api("functions");
    if (!data.functions.length) {
      main.replaceChildren(el("h1", {}, "Functions"), el("p", { class: "muted" }, "This server hosts no functions ([[functions]] in its configuration)."));
      return;
    }
    main.replaceChildren(el("h1", {}, "Functions"), ...data.functions.map((f) => el("section", { "data-testid": "function-" + f.name },
      el("h2", {}, f.name, " ", el("span", { class: "muted" }, `${f.runtime} · ${f.handler} · ${f.memoryMb} MB · ${f.timeoutSeconds} s · ${f.environments} live`)),
      el("div", { class: "grid2" },
        el("div", {}, el("h3", {}, "Invocations"), f.invocations.length
          ? el("table", { "data-testid": "invocations" },
            el("tr", {}, el("th", {}, "Ended"), el("th", {}, "Request"), el("th", {}, "Duration"), el("th", {}, "Result")),
            f.invocations.slice().reverse().map((i) => el("tr", {}, el("td", {}, time(i.at)), el("td", { class: "id" }, i.requestId),
              el("td", {}, `${i.durationMs.toFixed(1)} ms`),
              el("td", { class: i.result === "ok" ? "status-ok" : "status-bad", "data-testid": "invocation-result" },
                i.result === "ok" ? "ok" : `${i.result}: ${i.errorType}`))))
          : el("p", { class: "muted" }, "No invocations yet.")),
        el("div", {}, el("h3", {}, "Log"),
          el("pre", { class: "log", "data-testid": "function-log" }, f.lines.map((l) => `${time(l.at)}  ${l.text}`).join("\n")))))));
  };
  await draw();
  every(3000, () => draw().catch(handle));
}

// The chat logging configurations: listed, created, updated and deleted through the control plane.
async function logging() {
  const table = el("table", { "data-testid": "logging" });
  const result = el("p", { class: "muted", "data-testid": "logging-result" });
  let editing = null;
  const name = el("input", { placeholder: "name", "data-testid": "logging-name" });
  const kind = el("select", { "data-testid": "logging-kind" },
    el("option", { value: "s3" }, "S3 bucket"), el("option", { value: "cloudWatchLogs" }, "CloudWatch log group"),
    el("option", { value: "firehose" }, "Firehose stream"));
  const target = el("input", { placeholder: "bucket, log group or stream", "data-testid": "logging-target" });
  const FIELDS = { s3: "bucketName", cloudWatchLogs: "logGroupName", firehose: "deliveryStreamName" };
  const heading = el("h2", {}, "Create a logging configuration");
  const reset = () => { editing = null; heading.textContent = "Create a logging configuration"; name.value = ""; target.value = ""; };
  const draw = async () => {
    const { loggingConfigurations } = await api("logging");
    table.replaceChildren(
      el("tr", {}, el("th", {}, "Name"), el("th", {}, "Id"), el("th", {}, "Destination"), el("th", {}, "State"), el("th", {}, "")),
      ...loggingConfigurations.map((c) => {
        const [destination, value] = Object.entries(c.destinationConfiguration || {})[0] || ["", {}];
        const edit = () => {
          editing = c.arn; heading.textContent = `Update ${c.name || c.id}`;
          name.value = c.name || ""; kind.value = destination; target.value = Object.values(value)[0] || "";
        };
        const remove = async () => {
          try {
            const answer = await api(`logging/${encodeURIComponent(c.arn)}/delete`, { method: "POST", body: "{}" });
            result.textContent = `Delete ${c.name || c.id}: ${answer.status}`;
            await draw();
          }
          catch (err) { if (err instanceof SignInRequired) return handle(err); result.textContent = `Delete ${c.name || c.id}: ${err.status || ""} ${err.message}`; }
        };
        return el("tr", { "data-testid": "logging-row" }, el("td", {}, c.name || ""), el("td", { class: "id" }, c.id),
          el("td", {}, `${destination}: ${Object.values(value)[0] || ""}`), el("td", {}, c.state || ""),
          el("td", {}, el("button", { on: { click: edit } }, "Edit"), " ",
            el("button", { class: "danger", on: { click: () => remove().catch(handle) } }, "Delete")));
      }));
  };
  const form = apiForm("Save", () => (editing ? `logging/${encodeURIComponent(editing)}/update` : "logging/create"),
    [name, kind, target], result,
    () => ({ name: name.value, destinationConfiguration: { [kind.value]: { [FIELDS[kind.value]]: target.value } } }),
    async () => { reset(); await draw(); }, false);
  form.setAttribute("data-testid", "logging-form");
  main.replaceChildren(el("h1", {}, "Logging configurations"),
    el("p", { class: "muted" }, "Rooms log their messages and events to these; choose them in a room's settings."),
    table, heading, form, el("button", { on: { click: reset } }, "New"), result);
  await draw();
}

function signIn() {
  const id = el("input", { placeholder: "Access key id", autocomplete: "username", "data-testid": "access-key-id" });
  const secret = el("input", { placeholder: "Secret access key", type: "password", autocomplete: "current-password", "data-testid": "secret-access-key" });
  const error = el("p", { class: "status-bad" });
  const form = el("form", { class: "signin", "data-testid": "signin" },
    el("h1", {}, "Sign in"),
    el("p", { class: "muted" }, "This console is served off loopback: sign in with one of the server's key pairs."),
    id, secret, el("button", { type: "submit" }, "Sign in"), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const response = await fetch(API + "signin", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json", "x-switchboard-console": "1" },
      body: JSON.stringify({ accessKeyId: id.value, secretAccessKey: secret.value }) });
    if (response.ok) route(); else error.textContent = "Those credentials are not the server's.";
  });
  main.replaceChildren(form);
}

function handle(err) {
  if (err instanceof SignInRequired) { stop(); signIn(); return; }
  main.append(el("p", { class: "notice" }, String(err.message || err)));
}

function stop() {
  for (const fn of cleanup) fn();
  cleanup = [];
}

async function route() {
  stop();
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  const page = parts[0] || "overview";
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.page === page);
  try {
    if (page === "rooms" && parts[1]) await room(decodeURIComponent(parts[1]));
    else if (page === "rooms") await rooms();
    else if (page === "logging") await logging();
    else if (page === "functions") await functions();
    else if (page === "connections" && parts[1]) await connection(decodeURIComponent(parts[1]));
    else if (page === "connections") await connections(params);
    else await overview();
  } catch (err) { handle(err); }
}

window.addEventListener("hashchange", route);
route();
