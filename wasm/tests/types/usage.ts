// Type-checks typical use of memcrab-wasm against the generated
// memcrab_wasm.d.ts (`tsc --noEmit --strict`, run by wasm/ci.sh). Nothing
// here runs: the Node, browser and page suites run the same calls.
import init, {
  Client,
  Protocol,
  Router,
  type Item,
  type MemcrabError,
  type MetaReply,
  type Reply,
  type Route,
} from "../../examples/browser/pkg/memcrab_wasm.js";

async function browser(): Promise<void> {
  await init();
  const client: Client = await Client.connect("ws://127.0.0.1:8080", {
    timeoutMs: 500,
    keyPrefix: "app:",
    protocol: "meta",
  });
  client.onerror = (e: MemcrabError) => console.log(e.kind, e.fatal);
  const stored: boolean = await client.set("k", "v", { expire: 60, flags: 1 });
  const bytesStored: boolean = await client.add("b", new Uint8Array([1, 2]));
  const item: Item | null = await client.get("k");
  const text: string | undefined = item?.text();
  const value: Uint8Array | undefined = item?.value;
  const many: Map<string, Item> = await client.getMany(["a", new Uint8Array([98])]);
  const withCas = await client.gets("k");
  if (withCas?.cas !== undefined) {
    const swapped: boolean | null = await client.cas("k", "w", withCas.cas);
    console.log(swapped);
  }
  const n: bigint | null = await client.incr("n", 1);
  const m: bigint | null = await client.decr("n", 2n, { noreply: true });
  const touched: boolean = await client.touch("k", 30);
  const deleted: boolean = await client.delete("k");
  const stats: Record<string, string> = await client.stats(["settings"]);
  const version: string = await client.version();
  const flushed: boolean = await client.flushAll();
  const meta: MetaReply = await client.metaGet("hot", { vivify: 30, returnCas: true });
  if (meta.win) await client.metaSet("hot", "fresh", { ttl: 60, mode: "set" });
  const counter = await client.metaArithmetic("visits", { vivify: 60, initial: 0n });
  console.log(counter.text?.(), meta.status === "value");
  try {
    await client.get("bad key");
  } catch (e) {
    const err = e as MemcrabError;
    if (err.kind === "IllegalInput") console.log(err.message);
  }
  console.log(stored, bytesStored, text, value, many.size, n, m, touched, deleted, stats, version, flushed);
  await client.close();
}

function sansIo(now: number): void {
  const protocol = new Protocol({ allowUnicodeKeys: true });
  const out: Uint8Array = protocol.set("k", "v", { deadline: now + 500 });
  const id: number | undefined = protocol.lastId;
  const replies: Reply[] = protocol.receive(new Uint8Array([83, 84]));
  for (const reply of replies) {
    if (reply.type === "values") console.log(reply.items.map((i) => i.text()));
    else if (reply.type === "number") console.log(reply.value + 1n);
    else if (reply.type === "error") console.log(reply.error.kind);
    else if (reply.type === "meta") console.log(reply.meta.status);
  }
  const next: number | undefined = protocol.pollTimeout();
  protocol.handleTimeout(now);
  protocol.receiveEof();
  console.log(out.length, id, next, protocol.inFlight, protocol.isClosed);
}

function routing(): void {
  const router = new Router(["a:11211", "b:11211"], { distribution: "ketama-md5" });
  const route: Route = router.route("user:42");
  if (route.type === "node") router.reportSuccess(route.node);
  const node: string | undefined = router.nodeFor("user:42");
  const live: string[] = router.liveNodes;
  console.log(node, live, router.nodes);
}

void browser;
void sansIo;
void routing;
