// The checks every runtime runs against the installed package (Node, Deno,
// Bun, workerd, Chromium): `run(memcrab, config)` returns [{ name, ok,
// detail }]. `config`: { main, victim, control } — the main server's and
// the victim server's addresses as this runtime reaches them, and the URL
// of the orchestrator's control server (stop, kill, restart the victim).

const te = new TextEncoder();
const td = new TextDecoder();

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function equalBytes(a, b) {
  if (!(a instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function rejects(promise, check) {
  let value;
  try {
    value = await promise;
  } catch (e) {
    return check(e);
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)?.slice(0, 100)}`);
}

const withTimeout = (promise, ms, what) =>
  Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms (hang)`)), ms)),
  ]);

export async function run(memcrab, config) {
  const { connect, MemcrabError, defaultSocket, memoryUsage } = memcrab;
  const results = [];
  const tag = Math.random().toString(36).slice(2);
  const k = (name) => `${tag}:${name}`;
  const test = async (name, body) => {
    try {
      await withTimeout(body(), 60000, name);
      results.push({ name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, detail: String(e?.stack ?? e) });
    }
  };

  await test("commands: set get getMany gets cas incr delete touch", async () => {
    const c = await connect(config.main);
    assert((await c.set(k("a"), "alpha", { flags: 3 })) === true, "set");
    const a = await c.get(k("a"));
    assert(a && td.decode(a.value) === "alpha" && a.flags === 3 && a.key === k("a"), "get " + JSON.stringify(a));
    assert((await c.get(k("missing"))) === null, "miss is null");
    await c.set(k("b"), "beta");
    const many = await c.getMany([k("a"), k("b"), k("missing")]);
    assert(Object.keys(many).length === 2 && td.decode(many[k("b")].value) === "beta", "getMany");
    const g = await c.gets(k("a"));
    assert(typeof g.cas === "string" && /^\d+$/.test(g.cas), "gets cas is a decimal string");
    assert((await c.cas(k("a"), "changed", g.cas)) === true, "cas stored");
    assert((await c.cas(k("a"), "again", g.cas)) === false, "cas exists");
    assert((await c.cas(k("nothing"), "x", "1")) === null, "cas not found");
    await c.set(k("n"), "41");
    assert((await c.incr(k("n"), 1)) === 42, "incr");
    assert((await c.decr(k("n"), 2)) === 40, "decr");
    assert((await c.incr(k("nocounter"), 1)) === null, "incr miss");
    assert((await c.touch(k("a"), 100)) === true, "touch");
    assert((await c.touch(k("missing"), 100)) === false, "touch miss");
    assert((await c.delete(k("a"))) === true, "delete");
    assert((await c.delete(k("a"))) === false, "delete miss");
    assert((await c.add(k("b"), "x")) === false && (await c.replace(k("b"), "x")) === true, "add/replace");
    assert((await c.set(k("nr"), "v", { noreply: true })) === true, "noreply set resolves");
    assert(td.decode((await c.get(k("nr"))).value) === "v", "noreply set applied");
    const version = await c.version();
    assert(/^\d+\.\d+/.test(version), "version " + version);
    const stats = await c.stats();
    assert(typeof stats.pid === "string", "stats");
    // Plain data: cloneable and JSON-friendly.
    const clone = structuredClone({ item: await c.gets(k("b")), many, stats });
    assert(clone.item.key === k("b") && JSON.parse(JSON.stringify(clone.item)).cas === clone.item.cas, "clone");
    await c.close();
  });

  await test("meta protocol gives the same results; quiet commands are awaitable", async () => {
    const c = await connect(config.main, { protocol: "meta" });
    assert((await c.set(k("m"), "meta")) === true, "set");
    assert(td.decode((await c.get(k("m"))).value) === "meta", "get");
    assert((await c.set(k("mq"), "q", { noreply: true })) === true, "noreply (quiet) set resolves");
    const miss = await c.metaGet(k("absent"), { quiet: true });
    assert(miss.status === "miss", "quiet miss resolves as miss");
    const hit = await c.metaGet(k("mq"), { returnCas: true });
    assert(hit.status === "value" && td.decode(hit.value) === "q" && typeof hit.cas === "string", "metaGet");
    await c.close();
  });

  await test("binary values: all 256 byte values", async () => {
    const c = await connect(config.main);
    const value = new Uint8Array(256 * 4).map((_, i) => i % 256);
    await c.set(k("bin"), value);
    assert(equalBytes((await c.get(k("bin"))).value, value), "bytes differ");
    await c.close();
  });

  await test("a 900 KiB value, read in many chunks", async () => {
    const c = await connect(config.main);
    const value = new Uint8Array(900 * 1024).map((_, i) => (i * 7) % 251);
    await c.set(k("big"), value);
    const got = await c.get(k("big"));
    assert(equalBytes(got.value, value), "900 KiB differ");
    await c.close();
  });

  await test("1,000 pipelined requests", async () => {
    const c = await connect(config.main);
    const sets = [];
    for (let i = 0; i < 1000; i++) sets.push(c.set(k(`p${i}`), `v${i}`));
    assert((await Promise.all(sets)).every((r) => r === true), "sets");
    const gets = [];
    for (let i = 0; i < 1000; i++) gets.push(c.get(k(`p${i}`)));
    const got = await Promise.all(gets);
    got.forEach((item, i) => assert(td.decode(item.value) === `v${i}`, `reply ${i} went to the wrong caller`));
    await c.close();
  });

  await test("bad keys and options are refused before any byte, whatever the protocol", async () => {
    let written = 0;
    const counting = (name, options, events) =>
      defaultSocket(name, options, events).then((h) => ({
        write(bytes) {
          written += bytes.length;
          h.write(bytes);
        },
        close: () => h.close(),
      }));
    const bad = ["has space", "crlf\r\nset x 0 0 1", "nul\0", "ünïcode", "x".repeat(251), "", "tab\tkey"];
    for (const protocol of ["text", "meta"]) {
      const c = await connect(config.main, { protocol, socket: counting });
      await c.version();
      const before = written;
      for (const key of bad) {
        for (const call of [() => c.get(key), () => c.set(key, "v"), () => c.delete(key), () => c.getMany(["ok", key])]) {
          await rejects(call(), (e) => {
            assert(e instanceof MemcrabError, "not a MemcrabError: " + e);
            assert(e.kind === "IllegalInput" && e.fatal === false && typeof e.code === "string", `${e.kind} ${e.code}`);
          });
        }
      }
      await rejects(c.set("k", "v", { expires: 5 }), (e) => assert(e.code === "UNKNOWN_OPTION", e.code));
      await rejects(c.get(42), (e) => assert(e.code === "BAD_ARGUMENT", e.code));
      await rejects(c.metaGet("k", { retrunCas: true }), (e) => assert(e.code === "UNKNOWN_OPTION", e.code));
      assert(written === before, `${protocol}: ${written - before} bytes were sent for bad input`);
      assert((await c.get(k("still-usable"))) === null, "usable after refusals");
      await c.close();
    }
    await rejects(connect(config.main, { protocl: "meta" }), (e) => assert(e.code === "UNKNOWN_OPTION", e.code));
  });

  await test("the server killed mid-stream: a clear error, no hang, reconnect after restart", async () => {
    const control = (what) => fetch(`${config.control}/${what}`).then((r) => r.text());
    const c = await connect(config.victim, { timeoutMs: 20000 });
    await c.set("big", new Uint8Array(512 * 1024));
    await control("stop");
    // Handlers go on at once: the rejections may come before "kill" returns.
    const pending = [c.get("big"), c.get("big"), c.set("after", "x")].map((p) =>
      withTimeout(p, 10000, "pending call").then(
        (value) => ({ value }),
        (error) => ({ error }),
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    await control("kill");
    for (const p of pending) {
      await rejects(p.then((r) => (r.error ? Promise.reject(r.error) : r.value)), (e) => {
        assert(e instanceof MemcrabError && e.fatal === true, "fatal MemcrabError: " + e);
        assert(/close|lost|connect/i.test(e.message), "message: " + e.message);
      });
    }
    // The next call tries a new connection: the server is gone (refused;
    // Bun has been seen to report it as an open socket closed at once).
    await rejects(withTimeout(c.get("big"), 15000, "call to a dead server"), (e) =>
      assert(
        e instanceof MemcrabError && e.fatal && (e.kind === "Io" || e.kind === "UnexpectedClose"),
        `${e.kind}: ${e.message}`,
      ),
    );
    await control("restart");
    assert((await c.get("big")) === null, "reconnected to the restarted (empty) server");
    await c.close();
  });

  await test("memory: 100,000 clients opened and closed stay within 8 MiB", async () => {
    // An in-memory socket that answers every set: no network, all wasm.
    const echo = (_name, _options, events) =>
      Promise.resolve({
        write: () => queueMicrotask(() => events.data(te.encode("STORED\r\n"))),
        close: () => {},
      });
    const start = memoryUsage();
    for (let i = 0; i < 100000; i++) {
      const c = await connect("127.0.0.1:1", { socket: echo });
      if (i % 10 === 0) assert((await c.set("k", "v")) === true, "set over the echo socket");
      await c.close();
    }
    const grown = memoryUsage() - start;
    assert(grown <= 8 * 1024 * 1024, `wasm memory grew by ${grown} bytes`);
    results.push({ name: `  (wasm memory grew by ${grown} bytes over 100,000 clients)`, ok: true });
  });

  return results;
}
