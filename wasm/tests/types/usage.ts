// Type-checks typical use of the npm package against its index.d.ts
// (`tsc --noEmit --strict`, run by wasm/ci.sh on target/npm/package).
// Nothing here runs: wasm/tests/npm/ runs the same calls in every runtime.
import {
  connect,
  Client,
  MemcrabError,
  Protocol,
  Router,
  memoryUsage,
  type Completion,
  type Item,
  type MetaReply,
  type Route,
  type SocketAdapter,
} from "../../../target/npm/package/dist/index.js";

async function client(): Promise<void> {
  const c: Client = await connect("127.0.0.1:11211", { timeoutMs: 500, keyPrefix: "app:" });
  const stored: boolean = await c.set("k", "v", { expire: 60, flags: 1 });
  const added: boolean = await c.add("b", new Uint8Array([1, 2]));
  const item: Item | null = await c.get("k");
  const bytes: Uint8Array | undefined = item?.value;
  const many: Record<string, Item> = await c.getMany(["a", "b"]);
  const withCas = await c.gets("k");
  if (withCas?.cas !== undefined) {
    const swapped: boolean | null = await c.cas("k", "w", withCas.cas);
    console.log(swapped);
  }
  const n: number | bigint | null = await c.incr("n", 1);
  const touched: boolean = await c.touch("k", 30, { noreply: true });
  const deleted: boolean = await c.delete("k");
  const stats: Record<string, string> = await c.stats(["settings"], { server: 0 });
  const version: string = await c.version();
  const meta: MetaReply = await c.metaGet("hot", { vivify: 30, returnCas: true, timeoutMs: 100 });
  if (meta.win) await c.metaSet("hot", "fresh", { ttl: 60 });
  try {
    await c.get("bad key");
  } catch (e) {
    if (e instanceof MemcrabError && e.kind === "IllegalInput") console.log(e.code, e.fatal);
  }
  console.log(stored, added, bytes, many, n, touched, deleted, stats, version, memoryUsage());
  await c.close();

  const own: SocketAdapter = async (_server, _options, events) => {
    events.closed();
    return { write: (_b: Uint8Array) => {}, close: () => {} };
  };
  const several = await connect(["10.0.0.1:11211", "10.0.0.2:11211"], { socket: own, distribution: "ketama-md5", ignoreExc: true, mergeGets: 32 });
  await several.close();
}

function protocol(): void {
  const p = new Protocol({ protocol: "meta" });
  const id: number = p.set("k", "v", { noreply: true });
  const bytes: Uint8Array = p.transmit();
  const done: Completion[] = p.receive(new Uint8Array());
  for (const c of done) {
    if (c.error) console.log(c.id, c.error.kind, c.error.code);
    else console.log(c.id, c.value);
  }
  console.log(id, bytes, p.poll(), p.pollTimeout());
  p.free();
  const r = new Router(["a:1", "b:2"]);
  const route: Route = r.route("k");
  console.log(route.type);
  r.free();
}

void client;
void protocol;
