// Shared set-up of the JS SDK tests: a scratch git project, isolated HOME and
// XDG directories, `opencode` on PATH as a symlink to the ocgo binary, and
// ocgo started through the SDK's own createOpencodeServer.
//
// OCGO_BIN names the ocgo binary (default ../../ocgo). With a provider
// config, FAKELLM_BIN names the tests/fakellm binary, started first; its
// base URL is written into the project's opencode.json.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createOpencodeServer, createOpencodeClient } from "@opencode-ai/sdk";

const here = path.dirname(fileURLToPath(import.meta.url));
export const bin = path.resolve(process.env.OCGO_BIN || path.join(here, "..", "..", "ocgo"));

export function slugOf(dir) {
  return dir.split("/").filter(Boolean).join("-").replace(/[^A-Za-z0-9_]/g, "-");
}

// startFake runs tests/fakellm and resolves with its base URL.
function startFake() {
  const fakeBin = process.env.FAKELLM_BIN;
  assert.ok(fakeBin && fs.existsSync(fakeBin), `FAKELLM_BIN must name the tests/fakellm binary (go build -o fakellm ./tests/fakellm); got ${fakeBin}`);
  const proc = spawn(fakeBin, [], { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`fakellm printed no URL: ${out}`)), 10000);
    proc.stdout.on("data", (c) => {
      out += c;
      const m = out.match(/fakellm listening on (\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], close: () => proc.kill() });
      }
    });
    proc.on("exit", (code) => reject(new Error(`fakellm exited ${code}`)));
  });
}

// setup builds the scratch project and starts ocgo. config(fakeURL), when
// given, returns the opencode.json object to write into the project.
export async function setup(config) {
  assert.ok(fs.existsSync(bin), `ocgo binary not found at ${bin}: build it first (go build -o ocgo .)`);
  const env = {};
  env.tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "ocgo-js-")));
  const binDir = path.join(env.tmp, "bin");
  env.proj = path.join(env.tmp, "proj");
  env.dataHome = path.join(env.tmp, "data");
  for (const d of [binDir, env.proj, env.dataHome, path.join(env.tmp, "home"), path.join(env.tmp, "config"), path.join(env.tmp, "state")]) {
    fs.mkdirSync(d, { recursive: true });
  }
  fs.symlinkSync(bin, path.join(binDir, "opencode"));
  execFileSync("git", ["init", "-q", env.proj]);
  fs.writeFileSync(path.join(env.proj, "README.md"), "# js sdk test project\n");
  if (config) {
    env.fake = await startFake();
    fs.writeFileSync(path.join(env.proj, "opencode.json"), JSON.stringify(config(env.fake.url), null, 2));
  }

  // createOpencodeServer inherits this process's env and cwd.
  Object.assign(process.env, {
    PATH: `${binDir}${path.delimiter}${process.env.PATH}`,
    HOME: path.join(env.tmp, "home"),
    XDG_DATA_HOME: env.dataHome,
    XDG_CONFIG_HOME: path.join(env.tmp, "config"),
    XDG_STATE_HOME: path.join(env.tmp, "state"),
    SHELL: "/bin/sh",
  });
  delete process.env.OCGO_DATA_DIR;
  delete process.env.OPENCODE_SERVER_PASSWORD;
  process.chdir(env.proj);

  env.server = await createOpencodeServer({ hostname: "127.0.0.1", port: 0, timeout: 10000 });
  assert.match(env.server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(env.server.url, "http://127.0.0.1:0", "the printed URL must carry the real port");
  env.client = createOpencodeClient({ baseUrl: env.server.url });
  env.close = () => {
    env.server?.close();
    env.fake?.close();
    // The server is sent SIGTERM and may still be persisting its snapshot
    // cache while we delete: retry on ENOTEMPTY/EBUSY rather than fail.
    fs.rmSync(env.tmp, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
  };
  return env;
}
