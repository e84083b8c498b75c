// The later JS SDK (@opencode-ai/sdk 1.0.150, installed as "sdk-later")
// against ocgo: the session routes that opencode added after 0.5 answer
// the calls that SDK makes (paths, methods, bodies, 204) with its shapes.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createOpencodeClient } from "sdk-later";
import { setup } from "./harness.mjs";

let env, c;

function ok(res, what) {
  assert.equal(res.error, undefined, `${what}: ${JSON.stringify(res.error)}`);
  assert.ok(res.response.status >= 200 && res.response.status < 300, `${what}: status ${res.response.status}`);
  return res.data;
}

before(async () => {
  env = await setup((url) => ({
    model: "fake/fake-model",
    provider: {
      fake: {
        npm: "@ai-sdk/openai-compatible",
        name: "Fake",
        options: { baseURL: url },
        models: { "fake-model": { name: "Fake Model", tool_call: true, limit: { context: 100000, output: 4000 } } },
      },
    },
  }));
  c = createOpencodeClient({ baseUrl: env.server.url });
});

after(() => env?.close());

async function until(what, fn, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("later SDK: promptAsync, status, diff, fork, todo", async () => {
  const s = ok(await c.session.create({ body: {} }), "session.create");
  assert.deepEqual(ok(await c.session.status(), "session.status"), {});

  // The later SDK nests the model ({model: {providerID, modelID}}).
  const r = await c.session.promptAsync({
    path: { id: s.id },
    body: { model: { providerID: "fake", modelID: "fake-model" }, parts: [{ type: "text", text: "USE_WRITE a file" }] },
  });
  assert.equal(r.response.status, 204, JSON.stringify(r.error));

  const msgs = await until("the reply", async () => {
    const m = ok(await c.session.messages({ path: { id: s.id } }), "session.messages");
    const st = ok(await c.session.status(), "session.status");
    const done = m.length >= 2 && m.at(-1).info.time.completed && !st[s.id];
    return done && m;
  });
  assert.ok(msgs[1].parts.some((p) => p.type === "patch"), "the write made a patch part");

  const diff = ok(await c.session.diff({ path: { id: s.id }, query: { messageID: msgs[1].info.id } }), "session.diff");
  assert.equal(diff.length, 1);
  assert.deepEqual(Object.keys(diff[0]).sort(), ["additions", "after", "before", "deletions", "file"]);
  assert.equal(diff[0].file, "fake-written.txt");
  assert.equal(diff[0].before, "");
  assert.ok(diff[0].after.length > 0 && diff[0].additions > 0 && diff[0].deletions === 0);
  assert.deepEqual(ok(await c.session.diff({ path: { id: s.id } }), "session.diff (session)"), diff);

  const fork = ok(await c.session.fork({ path: { id: s.id }, body: { messageID: msgs[1].info.id } }), "session.fork");
  assert.notEqual(fork.id, s.id);
  const forked = ok(await c.session.messages({ path: { id: fork.id } }), "session.messages (fork)");
  assert.equal(forked.length, 1);
  assert.equal(forked[0].parts[0].text, msgs[0].parts[0].text);

  assert.deepEqual(ok(await c.session.todo({ path: { id: s.id } }), "session.todo"), []);
  const missing = await c.session.todo({ path: { id: "ses_missing" } });
  assert.equal(missing.response.status, 404);
});
