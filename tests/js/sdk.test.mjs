// Drives a freshly built ocgo with the stock JS SDK, @opencode-ai/sdk 0.5.29:
// createOpencodeServer spawns `opencode serve --hostname=… --port=…` and waits
// for the "opencode server listening on" line, exactly as it would for the
// original; here `opencode` on PATH is a symlink to the ocgo binary.
//
// OCGO_BIN names the binary (default: ../../ocgo, i.e. the repo root build).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setup, slugOf } from "./harness.mjs";

let env, tmp, proj, dataHome, server, client;

before(async () => {
  env = await setup();
  ({ tmp, proj, dataHome, server, client } = env);
});

after(() => env?.close());

test("GET /app describes the project", async () => {
  const { data, error, response } = await client.app.get();
  assert.equal(error, undefined);
  assert.equal(response.status, 200);
  assert.equal(data.git, true);
  assert.equal(data.hostname, os.hostname());
  assert.equal(data.path.cwd, proj);
  assert.equal(data.path.root, proj);
  assert.equal(data.path.home, path.join(tmp, "home"));
  assert.equal(data.path.config, path.join(tmp, "config", "opencode"));
  assert.equal(data.path.state, path.join(tmp, "state", "opencode"));
  assert.equal(data.path.data, path.join(dataHome, "opencode", "project", slugOf(proj)));
  assert.equal(typeof data.time, "object");
});

test("session create, list, get, update, children, delete", async () => {
  const a = await client.session.create(); // no body, as the TUI does
  assert.equal(a.error, undefined, JSON.stringify(a.error));
  assert.match(a.data.id, /^ses_[0-9a-f]{12}[A-Za-z0-9]{14}$/);
  assert.match(a.data.title, /^New session - /);
  assert.equal(a.data.version, "0.5.29");

  const b = await client.session.create({ body: { title: "from js" } });
  assert.equal(b.data.title, "from js");
  const kid = await client.session.create({ body: { parentID: b.data.id, title: "kid" } });
  assert.equal(kid.data.parentID, b.data.id);

  const file = path.join(dataHome, "opencode", "project", slugOf(proj), "storage", "session", "info", `${b.data.id}.json`);
  assert.equal(JSON.parse(fs.readFileSync(file, "utf8")).title, "from js");

  const list = await client.session.list();
  const ids = list.data.map((s) => s.id);
  for (const id of [a.data.id, b.data.id, kid.data.id]) assert.ok(ids.includes(id), `${id} listed`);
  for (let i = 1; i < list.data.length; i++) {
    assert.ok(list.data[i - 1].time.updated >= list.data[i].time.updated, "sorted by time.updated desc");
  }

  const got = await client.session.get({ path: { id: b.data.id } });
  assert.deepEqual(got.data, b.data);

  const upd = await client.session.update({ path: { id: b.data.id }, body: { title: "renamed" } });
  assert.equal(upd.error, undefined, JSON.stringify(upd.error));
  assert.equal(upd.data.title, "renamed");
  assert.ok(upd.data.time.updated >= b.data.time.updated);
  assert.equal(JSON.parse(fs.readFileSync(file, "utf8")).title, "renamed");

  const kids = await client.session.children({ path: { id: b.data.id } });
  assert.deepEqual(kids.data.map((s) => s.id), [kid.data.id]);

  const del = await client.session.delete({ path: { id: b.data.id } });
  assert.equal(del.data, true);
  assert.equal(fs.existsSync(file), false);
  const gone = await client.session.get({ path: { id: kid.data.id } });
  assert.equal(gone.response.status, 404, "children go with their parent");
  await client.session.delete({ path: { id: a.data.id } });
});

test("missing session: 404 with {name, data: {message}}", async () => {
  const r = await client.session.get({ path: { id: "ses_0123456789abcdefghijklmnop" } });
  assert.equal(r.data, undefined);
  assert.equal(r.response.status, 404);
  assert.equal(r.error.name, "NotFoundError");
  assert.equal(typeof r.error.data.message, "string");
  assert.ok(!r.error.data.message.includes(tmp), "no absolute path in the message");

  const m = await client.session.messages({ path: { id: "ses_0123456789abcdefghijklmnop" } });
  assert.equal(m.response.status, 404);
  assert.equal(m.error.name, "NotFoundError");
});

test("shell runs in the project and streams over /event", async () => {
  const s = (await client.session.create({ body: { title: "shell" } })).data;

  const ac = new AbortController();
  const sub = await client.event.subscribe({ signal: ac.signal, sseMaxRetryAttempts: 1 });
  const seen = [];
  const it = sub.stream[Symbol.asyncIterator]();
  const nextEvent = async () => {
    let timer;
    const timeout = new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(`no event within 10 s; seen ${seen}`)), 10000);
    });
    const r = await Promise.race([it.next(), timeout]).finally(() => clearTimeout(timer));
    assert.equal(r.done, false, `stream ended; seen ${seen}`);
    seen.push(r.value.type);
    return r.value;
  };
  const first = await nextEvent();
  assert.equal(first.type, "server.connected");
  assert.deepEqual(first.properties, {});

  const res = await client.session.shell({ path: { id: s.id }, body: { agent: "build", command: "pwd; echo hi >&2; exit 3" } });
  assert.equal(res.error, undefined, JSON.stringify(res.error));
  const { info, parts } = res.data;
  assert.equal(info.role, "assistant");
  assert.equal(info.sessionID, s.id);
  assert.equal(parts.length, 1);
  const [tool] = parts;
  assert.equal(tool.type, "tool");
  assert.equal(tool.tool, "bash");
  assert.equal(tool.state.status, "completed");
  assert.deepEqual(tool.state.input, { command: "pwd; echo hi >&2; exit 3" });
  assert.equal(tool.state.output, `${proj}\nhi\n`);
  assert.equal(tool.state.metadata.output, `${proj}\nhi\n`);
  assert.equal(tool.state.metadata.exit, 3);

  // session.updated (touch), messages and parts, the completed tool part, idle.
  const want = ["session.updated", "message.updated", "message.part.updated", "tool-completed", "session.idle"];
  while (want.length) {
    const ev = await nextEvent();
    let kind = ev.type;
    if (kind === "message.part.updated") {
      assert.equal(ev.properties.part.sessionID, s.id);
      if (ev.properties.part.type === "tool" && ev.properties.part.state.status === "completed") kind = "tool-completed";
    }
    if (kind === "session.idle") {
      assert.equal(ev.properties.sessionID, s.id);
      assert.deepEqual(want, ["session.idle"], `session.idle came early; seen ${seen}`);
    }
    if (kind === want[0]) want.shift();
  }

  await client.session.update({ path: { id: s.id }, body: { title: "after shell" } });
  for (;;) {
    const ev = await nextEvent();
    if (ev.type === "session.updated") {
      assert.equal(ev.properties.info.title, "after shell");
      break;
    }
  }
  ac.abort();
  await it.return();

  const msgs = await client.session.messages({ path: { id: s.id } });
  assert.deepEqual(msgs.data.map((m) => m.info.role), ["user", "assistant"]);
  assert.equal(msgs.data[0].parts[0].synthetic, true);
  assert.equal(msgs.data[1].parts[0].id, tool.id);
});
