// The stock JS SDK, @opencode-ai/sdk 0.5.29, over the prompt path: every
// method of createOpencodeClient against ocgo with a fake model behind it
// (tests/fakellm, an OpenAI-compatible server answering by keyword), and one
// event subscription that must see and decode every event type ocgo emits.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { setup, slugOf } from "./harness.mjs";

let env, client, proj;
const events = [];
let stopEvents;

const model = { providerID: "fake", modelID: "fake-model" };
const text = (t) => ({ ...model, parts: [{ type: "text", text: t }] });

// waitEvent resolves with the first event (seen so far or later) matching fn.
async function waitEvent(what, fn, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const ev = events.find(fn);
    if (ev) return ev;
    if (Date.now() > deadline) throw new Error(`no ${what} event within ${ms} ms; saw ${[...new Set(events.map((e) => e.type))]}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function ok(res, what) {
  assert.equal(res.error, undefined, `${what}: ${JSON.stringify(res.error)}`);
  assert.ok(res.response.status >= 200 && res.response.status < 300, `${what}: status ${res.response.status}`);
  return res.data;
}

before(async () => {
  env = await setup((url) => ({
    $schema: "https://opencode.ai/config.json",
    model: "fake/fake-model",
    provider: {
      fake: {
        npm: "@ai-sdk/openai-compatible",
        name: "Fake",
        options: { baseURL: url },
        models: { "fake-model": { name: "Fake Model", tool_call: true, reasoning: true, limit: { context: 100000, output: 4000 } } },
      },
    },
    permission: { bash: "ask" },
    command: { greet: { template: "Say hello to $ARGUMENTS", description: "greets" } },
  }));
  ({ client, proj } = env);
  const ac = new AbortController();
  stopEvents = () => ac.abort();
  const sub = await client.event.subscribe({ signal: ac.signal, sseMaxRetryAttempts: 1 });
  (async () => {
    try {
      for await (const ev of sub.stream) events.push(ev);
    } catch {
      // aborted at the end
    }
  })();
  await waitEvent("server.connected", (e) => e.type === "server.connected");
});

after(() => {
  stopEvents?.();
  env?.close();
});

test("app, config, agents, commands, providers, auth", async () => {
  const app = ok(await client.app.get(), "app.get");
  assert.equal(app.path.root, proj);
  assert.equal(ok(await client.app.init(), "app.init"), true);
  assert.ok(ok(await client.app.get(), "app.get").time.initialized > 0);
  assert.equal(ok(await client.app.log({ body: { service: "js", level: "info", message: "hello" } }), "app.log"), true);
  const agents = ok(await client.app.agents(), "app.agents");
  assert.ok(agents.some((a) => a.name === "build"));
  const cfg = ok(await client.config.get(), "config.get");
  assert.equal(cfg.model, "fake/fake-model");
  const cmds = ok(await client.command.list(), "command.list");
  assert.ok(cmds.some((c) => c.name === "greet" && c.template === "Say hello to $ARGUMENTS"), JSON.stringify(cmds));
  const provs = ok(await client.config.providers(), "config.providers");
  assert.ok(provs.providers.some((p) => p.id === "fake" && p.models["fake-model"]), JSON.stringify(provs));
  assert.equal(provs.default.fake, "fake-model");
  // auth.set stores a credential; nothing of it comes back.
  assert.equal(ok(await client.auth.set({ path: { id: "anthropic" }, body: { type: "api", key: "sk-ant-js-secret" } }), "auth.set"), true);
  const after = ok(await client.config.providers(), "config.providers");
  assert.ok(after.providers.some((p) => p.id === "anthropic"), "anthropic is active after auth.set");
  assert.ok(!JSON.stringify(after).includes("sk-ant-js-secret"));
  const bad = await client.auth.set({ path: { id: "anthropic" }, body: { type: "bogus" } });
  assert.equal(bad.response.status, 400);
});

test("chat: text, reasoning, step parts and tokens decoded", async () => {
  const s = ok(await client.session.create({ body: { title: "think" } }), "create");
  const res = ok(await client.session.chat({ path: { id: s.id }, body: text("USE_THINK please") }), "chat");
  assert.equal(res.info.role, "assistant");
  assert.equal(res.info.providerID, "fake");
  assert.equal(res.info.modelID, "fake-model");
  assert.equal(res.info.tokens.output, 20);
  assert.ok(res.info.tokens.input > 0);
  assert.equal(typeof res.info.cost, "number");
  assert.ok(res.info.time.completed >= res.info.time.created);
  assert.deepEqual(res.parts.map((p) => p.type), ["step-start", "reasoning", "text", "step-finish"], JSON.stringify(res.parts));
  const [, reasoning, answer, finish] = res.parts;
  assert.equal(reasoning.text, "thinking it over");
  assert.ok(reasoning.time.start > 0);
  assert.equal(answer.text, "Thought about it.");
  assert.equal(finish.tokens.output, 20);
  for (const p of res.parts) {
    assert.equal(p.sessionID, s.id);
    assert.equal(p.messageID, res.info.id);
    assert.match(p.id, /^prt_/);
  }
  const one = ok(await client.session.message({ path: { id: s.id, messageID: res.info.id } }), "message");
  assert.deepEqual(one.parts.map((p) => p.id), res.parts.map((p) => p.id));
  await waitEvent("session.idle", (e) => e.type === "session.idle" && e.properties.sessionID === s.id);
});

test("chat with a tool behind a permission, patch part, revert and unrevert", async () => {
  const s = ok(await client.session.create(), "create");
  // bash asks first; the answer goes through the SDK's permission method.
  const chat = client.session.chat({ path: { id: s.id }, body: text("USE_BASH now") });
  const asked = await waitEvent("permission.updated", (e) => e.type === "permission.updated" && e.properties.sessionID === s.id);
  assert.equal(asked.properties.type, "bash");
  assert.match(asked.properties.id, /^per_/);
  const answered = await client.postSessionByIdPermissionsByPermissionId({
    path: { id: s.id, permissionID: asked.properties.id },
    body: { response: "once" },
  });
  assert.equal(ok(answered, "permission respond"), true);
  const res = ok(await chat, "chat");
  const tool = res.parts.find((p) => p.type === "tool");
  assert.equal(tool.tool, "bash");
  assert.equal(tool.callID, "call_bash");
  assert.equal(tool.state.status, "completed");
  assert.equal(tool.state.output, "bash-ran\n");
  assert.ok(tool.state.time.end >= tool.state.time.start);
  assert.ok(res.parts.some((p) => p.type === "text" && p.text.startsWith("tool finished: bash-ran")), JSON.stringify(res.parts));
  await waitEvent("permission.replied", (e) => e.type === "permission.replied" && e.properties.permissionID === asked.properties.id && e.properties.response === "once");

  // write: a new file, a patch part, file.edited.
  const w = ok(await client.session.chat({ path: { id: s.id }, body: text("USE_WRITE it") }), "chat write");
  const file = path.join(proj, "fake-written.txt");
  assert.equal(fs.readFileSync(file, "utf8"), "written by fakellm\n");
  const patch = w.parts.find((p) => p.type === "patch");
  assert.ok(patch, `no patch part in ${w.parts.map((p) => p.type)}`);
  assert.match(patch.hash, /^[0-9a-f]{40}$/);
  assert.deepEqual(patch.files, [file]);
  await waitEvent("file.edited", (e) => e.type === "file.edited" && e.properties.file === file);

  // revert to the write prompt's user message, then unrevert.
  const msgs = ok(await client.session.messages({ path: { id: s.id } }), "messages");
  assert.deepEqual(msgs.map((m) => m.info.role), ["user", "assistant", "user", "assistant"]);
  const rev = ok(await client.session.revert({ path: { id: s.id }, body: { messageID: msgs[2].info.id } }), "revert");
  assert.equal(rev.revert.messageID, msgs[2].info.id);
  assert.ok(rev.revert.diff.includes("fake-written.txt"), rev.revert.diff);
  assert.equal(fs.existsSync(file), false);
  const un = ok(await client.session.unrevert({ path: { id: s.id } }), "unrevert");
  assert.equal(un.revert, undefined);
  assert.equal(fs.readFileSync(file, "utf8"), "written by fakellm\n");

  // A revert to a part (the tool call, after the text before it), then a
  // new prompt: the cleanup removes what came after (message.part.removed,
  // message.removed).
  const toolPart = msgs[1].parts.find((p) => p.type === "tool");
  const toPart = ok(await client.session.revert({ path: { id: s.id }, body: { messageID: msgs[1].info.id, partID: toolPart.id } }), "revert to part");
  assert.equal(toPart.revert.partID, toolPart.id);
  ok(await client.session.chat({ path: { id: s.id }, body: text("after the revert") }), "chat after revert");
  await waitEvent("message.removed", (e) => e.type === "message.removed" && e.properties.messageID === msgs[3].info.id);
  await waitEvent("message.part.removed", (e) => e.type === "message.part.removed" && e.properties.messageID === msgs[1].info.id);
});

test("command, init, summarize, shell, abort", async () => {
  const s = ok(await client.session.create({ body: { title: "ops" } }), "create");
  const c = ok(await client.session.command({ path: { id: s.id }, body: { command: "greet", arguments: "world" } }), "command");
  assert.equal(c.info.role, "assistant");
  assert.ok(c.parts.some((p) => p.type === "text" && p.text.includes("Say hello to world")), JSON.stringify(c.parts));
  assert.equal(ok(await client.session.init({ path: { id: s.id }, body: { messageID: "msg_" + "b".repeat(26), ...model } }), "init"), true);
  assert.equal(ok(await client.session.summarize({ path: { id: s.id }, body: model }), "summarize"), true);
  const msgs = ok(await client.session.messages({ path: { id: s.id } }), "messages");
  assert.ok(msgs.some((m) => m.info.role === "assistant" && m.info.summary === true), "a summary message");
  const sh = ok(await client.session.shell({ path: { id: s.id }, body: { agent: "build", command: "echo via-shell" } }), "shell");
  assert.equal(sh.parts[0].state.output, "via-shell\n");
  // Nothing runs: abort answers false, as opencode's does.
  assert.equal(ok(await client.session.abort({ path: { id: s.id } }), "abort"), false);
});

test("a provider failure: the error union on the message and session.error", async () => {
  const s = ok(await client.session.create(), "create");
  const res = ok(await client.session.chat({ path: { id: s.id }, body: text("USE_FAIL") }), "chat");
  assert.ok(res.info.error, "error on the assistant message");
  assert.ok(["UnknownError", "ProviderAuthError", "APIError"].includes(res.info.error.name), res.info.error.name);
  assert.match(res.info.error.data.message, /fakellm refuses USE_FAIL/);
  const ev = await waitEvent("session.error", (e) => e.type === "session.error" && e.properties.sessionID === s.id);
  assert.equal(ev.properties.error.name, res.info.error.name);
});

test("share, find, file", async () => {
  const s = ok(await client.session.create(), "create");
  // share: a page ocgo serves itself; unshare revokes it.
  const shared = ok(await client.session.share({ path: { id: s.id } }), "share");
  assert.match(shared.share.url, /\/share\//);
  const page = await fetch(shared.share.url);
  assert.equal(page.status, 200);
  await page.body?.cancel();
  const unshared = ok(await client.session.unshare({ path: { id: s.id } }), "unshare");
  assert.equal(unshared.share, undefined);
  const revoked = await fetch(shared.share.url);
  assert.equal(revoked.status, 404);
  await revoked.body?.cancel();

  fs.writeFileSync(path.join(proj, "util.go"), "package main\n\nfunc FindMe() int { return 1 }\n");
  // The watcher reports the new file. (ocgo searches its watcher's index,
  // so a file is found once the watcher saw it: within about 100 ms.)
  await waitEvent("file.watcher.updated", (e) => e.type === "file.watcher.updated" && e.properties.file.endsWith("util.go"));
  const found = ok(await client.find.text({ query: { pattern: "FindMe" } }), "find.text");
  assert.equal(found.length, 1);
  assert.equal(found[0].path.text, "util.go");
  assert.equal(found[0].line_number, 3);
  assert.ok(found[0].submatches[0].match.text === "FindMe");
  const files = ok(await client.find.files({ query: { query: "util" } }), "find.files");
  assert.ok(files.includes("util.go"), JSON.stringify(files));
  assert.ok(Array.isArray(ok(await client.find.symbols({ query: { query: "FindMe" } }), "find.symbols")));
  const list = ok(await client.file.list({ query: { path: "." } }), "file.list");
  assert.ok(list.some((n) => n.name === "util.go" && n.type === "file"), JSON.stringify(list));
  const read = ok(await client.file.read({ query: { path: "util.go" } }), "file.read");
  assert.match(read.content, /func FindMe/);
  const status = ok(await client.file.status(), "file.status");
  assert.ok(status.some((f) => f.path === "util.go" && f.status === "added"), JSON.stringify(status));
});

test("tui methods reach a TUI on the control queue", async () => {
  const calls = [
    ["/tui/append-prompt", () => client.tui.appendPrompt({ body: { text: "hello" } })],
    ["/tui/open-help", () => client.tui.openHelp()],
    ["/tui/open-sessions", () => client.tui.openSessions()],
    ["/tui/open-themes", () => client.tui.openThemes()],
    ["/tui/open-models", () => client.tui.openModels()],
    ["/tui/submit-prompt", () => client.tui.submitPrompt()],
    ["/tui/clear-prompt", () => client.tui.clearPrompt()],
    ["/tui/execute-command", () => client.tui.executeCommand({ body: { command: "session_new" } })],
    ["/tui/show-toast", () => client.tui.showToast({ body: { message: "hi", variant: "info" } })],
  ];
  for (const [p, call] of calls) {
    const pending = call();
    const next = await fetch(`${env.server.url}/tui/control/next`).then((r) => r.json());
    assert.equal(next.path, p);
    await fetch(`${env.server.url}/tui/control/response`, { method: "POST", headers: { "content-type": "application/json" }, body: "true" });
    assert.equal(ok(await pending, p), true);
  }
});

test("sessions: list, children, delete, and every event type seen", async () => {
  const parent = ok(await client.session.create({ body: { title: "parent" } }), "create");
  const kid = ok(await client.session.create({ body: { parentID: parent.id, title: "kid" } }), "create child");
  assert.deepEqual(ok(await client.session.children({ path: { id: parent.id } }), "children").map((s) => s.id), [kid.id]);
  assert.ok(ok(await client.session.list(), "list").some((s) => s.id === parent.id));
  assert.equal(ok(await client.session.delete({ path: { id: parent.id } }), "delete"), true);
  await waitEvent("session.deleted", (e) => e.type === "session.deleted" && e.properties.info.id === parent.id);

  // The storage.write heartbeat comes every 10 s.
  await waitEvent("storage.write heartbeat", (e) => e.type === "storage.write" && e.properties.key === "heartbeat", 12000);
  const seen = new Set(events.map((e) => e.type));
  for (const t of [
    "server.connected", "session.updated", "session.deleted", "session.idle", "session.error",
    "message.updated", "message.removed", "message.part.updated", "message.part.removed",
    "permission.updated", "permission.replied", "file.edited", "file.watcher.updated", "storage.write",
  ]) {
    assert.ok(seen.has(t), `no ${t} event; saw ${[...seen]}`);
  }
  // Every event is {type, properties} with the fields its type promises.
  for (const e of events) {
    assert.deepEqual(Object.keys(e).sort(), ["properties", "type"]);
    const p = e.properties;
    switch (e.type) {
      case "session.updated":
      case "session.deleted":
        assert.match(p.info.id, /^ses_/);
        break;
      case "message.updated":
        assert.ok(["user", "assistant"].includes(p.info.role));
        break;
      case "message.part.updated":
        assert.match(p.part.id, /^prt_/);
        assert.match(p.part.messageID, /^msg_/);
        break;
      case "session.idle":
        assert.match(p.sessionID, /^ses_/);
        break;
      case "permission.updated":
        assert.equal(typeof p.title, "string");
        assert.equal(typeof p.time.created, "number");
        break;
      case "file.edited":
      case "file.watcher.updated":
        assert.ok(path.isAbsolute(p.file));
        break;
    }
  }
  const dataDir = path.join(env.dataHome, "opencode", "project", slugOf(proj));
  assert.ok(fs.existsSync(path.join(dataDir, "storage", "session", "info")));
});
