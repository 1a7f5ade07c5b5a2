import { addRoute, createRouter, findAllRoutes, findRoute } from "rou3";

interface Entry<S> {
  store: S;
  /** The method it was added for; "" for every method. */
  method: string;
  /** The path with its params unnamed: entries of one shape match the same paths. */
  shape: string;
  /** Tried before the others of its shape, and may share it (a fall-through mount). */
  yields: boolean;
  /** Declaration order. */
  seq: number;
  /** Per segment (1 = the first after "/"), a whole-segment param's name or null, up to the last param or star. */
  names: (string | null)[];
  /** The segment of a trailing "*", or 0. */
  star: number;
  /** The pattern ends in "/": it matches a path with one, and only such a path. */
  slash: boolean;
  /** The one match of a route without params, made once: a hit on it allocates nothing. */
  bare?: RouteMatch<S> & { shape: string };
}

/** A route table hit: what was stored for the route, and the path parameters, decoded. */
export interface RouteMatch<S> {
  readonly store: S;
  readonly params: Record<string, string>;
  /** The method the route was added for; "" for every method (a mount). */
  readonly method: string;
}

/**
 * The params of every match of a route without params: one frozen object, never a fresh one.
 * Compare against it before handing params on (a request makes its own when they are read).
 *
 * @example
 * const hit = table.find("GET", "/json");
 * if (hit !== null && hit.params !== NO_PARAMS_MATCHED) req.params = hit.params;
 */
export const NO_PARAMS_MATCHED: Readonly<Record<string, string>> = Object.freeze({});

const MAX_PARAM_LENGTH = 1000; // find-my-way's maxParamLength, as Sluice set it
const NO_PARAMS = { params: false } as const;
// A segment of Sluice's pattern language: a literal, `:name` or `:name(regex)`; `*` last only.
const LITERAL = /^(?!(?:\.|%2e){1,2}$)[^:*(){}?\\]*$/i; // no "." or ".." (rou3 resolves them)
const PARAM = /^:([A-Za-z_]\w*)(?:\([^/]*\))?$/;
// Per ASCII char: 1 = rou3 percent-encodes it in a literal (a raw one needs re-encoding);
// 2 = reserved or "%", an escape of it that decodeURI keeps. An escape of either stays an escape.
const KIND = new Uint8Array(128).map((_, c) =>
  c <= 0x20 || c === 0x7f || '"#<>?^`{}'.includes(String.fromCharCode(c))
    ? 1
    : "$%&+,/:;=@".includes(String.fromCharCode(c))
      ? 2
      : 0,
);
const LITERAL_ENCODED = /[\0- "#<>?^`{}\x7F-\uFFFF]+/g;

/**
 * The path spelled as rou3 spells its routes: decoded once as decodeURI does (an escape of a
 * reserved char — %2F, %3F, %40 ... — and %25 stay escapes, so segments never split or join),
 * then what rou3 encodes in literals encoded again. Null when the path is not valid percent-encoding.
 * Most paths are canonical already (no escape, or only escapes that would come back as they are):
 * they are returned after one scan, and their UTF-8 is checked when a param is decoded.
 */
function canonicalPath(path: string): string | null {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37) {
      const b = (hex(path.charCodeAt(i + 1)) << 4) | hex(path.charCodeAt(i + 2));
      if (b < 0 || (b < 0x80 && KIND[b] === 0)) return recode(path);
      i += 2;
    } else if (c > 0x7e || KIND[c] === 1) return recode(path);
  }
  return path;
}

function recode(path: string): string | null {
  try {
    const p = path.includes("%25") ? path.replaceAll("%25", "%2525") : path;
    return decodeURI(p).replace(LITERAL_ENCODED, encodeURIComponent);
  } catch {
    return null;
  }
}

// An upper-case hex digit's value, or -256 (so a byte built from it is negative).
const hex = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : -256);

/**
 * The route table of an app: methods and paths to what the app stored for them. Paths are matched
 * on their decoded form (`/%61pi` finds `/api`); parameters come back percent-decoded; `*` at the
 * end of a path captures the rest as `params["*"]`. Over rou3, with find-my-way's behaviour kept:
 * no trailing-slash leniency, `/a/*` does not match `/a`, a route declared twice throws.
 *
 * @example
 * const table = new RouteTable<string>();
 * table.add("GET", "/users/:id", "user");
 * table.find("GET", "/users/7"); // { store: "user", params: { id: "7" } }
 */
export class RouteTable<S> {
  readonly #rou3 = createRouter<Entry<S>>();
  /** By shape, the methods of the entries that answer for it ("" for every method). */
  readonly #final = new Map<string, Set<string>>();
  /** Shapes with a yielding entry: their order is ours, not rou3's. */
  readonly #yielding = new Set<string>();
  #seq = 0;

  /**
   * Adds a route for every method (a mount). A `yields` one (a mount that may pass a request on)
   * may share its path with other entries, and is tried before them.
   */
  addAny(path: string, store: S, options?: { yields?: boolean }): void {
    this.add("", path, store, options);
  }

  /** Adds a route for one method ("" for every method). Throws for a route declared twice. */
  add(method: string, path: string, store: S, options?: { yields?: boolean }): void {
    const segments = path.split("/");
    const last = segments.length - 1;
    const yields = options?.yields === true;
    // One route per method and shape ("/a/:x" is "/a/:y"); an any-method one (a mount) clashes
    // with every method's, as find-my-way's all() did. A yielding one clashes with nothing: it
    // passes what it does not answer to the others.
    const shape = path.replace(/:\w+/g, ":");
    const entry: Entry<S> = {
      store,
      method,
      shape,
      yields,
      seq: this.#seq++,
      names: [],
      star: 0,
      slash: last > 1 && segments[last] === "",
    };
    for (let i = 1; i <= last; i++) {
      const s = segments[i]!;
      if (s === "*" && i === last) entry.star = i;
      else if (!LITERAL.test(s) && !PARAM.test(s))
        throw new TypeError(`unsupported route pattern: ${path}`);
      entry.names.push(PARAM.exec(s)?.[1] ?? null);
    }
    entry.names.unshift(null);
    while (entry.names.length > entry.star + 1 && entry.names.at(-1) === null) entry.names.pop();
    if (yields) this.#yielding.add(shape);
    else {
      const taken = this.#final.get(shape) ?? new Set<string>();
      if (taken.has(method) || taken.has("") || (method === "" && taken.size > 0))
        throw new Error(`route already declared: ${method || "*"} ${path}`);
      taken.add(method);
      this.#final.set(shape, taken);
    }
    addRoute(this.#rou3, method, path, entry);
  }

  /** The route for a method and a percent-encoded path (no query), or null. */
  find(method: string, path: string): RouteMatch<S> | null {
    const canonical = canonicalPath(path);
    if (canonical === null) return null;
    const hit = this.#find(method, canonical);
    if (hit === null || this.#yielding.size === 0 || !this.#yielding.has(hit.shape)) return hit;
    return this.#all(method, canonical)[0] ?? null;
  }

  /**
   * Every route for a method and a path, the one `find` answers first, then the next most
   * specific, and so on: what a request is passed on to when a yielding mount does not answer it.
   * Among entries of one shape, the yielding ones come first, in the order they were added.
   */
  findAll(method: string, path: string): RouteMatch<S>[] {
    const canonical = canonicalPath(path);
    return canonical === null ? [] : this.#all(method, canonical);
  }

  #all(method: string, path: string): (RouteMatch<S> & { shape: string })[] {
    // rou3 ranks the least specific first.
    const all = findAllRoutes(this.#rou3, method, path, NO_PARAMS);
    const groups = new Map<string, Entry<S>[]>();
    for (let i = all.length - 1; i >= 0; i--) {
      const e = all[i]!.data;
      const group = groups.get(e.shape);
      if (group === undefined) groups.set(e.shape, [e]);
      else if (!group.includes(e)) group.push(e);
    }
    const out: (RouteMatch<S> & { shape: string })[] = [];
    for (const group of groups.values()) {
      group.sort((a, b) => (a.yields === b.yields ? a.seq - b.seq : a.yields ? -1 : 1));
      for (const e of group) {
        const m = accept(e, path);
        if (m !== null) out.push(m);
      }
    }
    return out;
  }

  #find(method: string, path: string): (RouteMatch<S> & { shape: string }) | null {
    const hit = findRoute(this.#rou3, method, path, NO_PARAMS);
    if (hit === undefined) return null;
    const match = accept(hit.data, path);
    if (match !== null) return match;
    // rou3 ignores one trailing slash and lets "/a/*" match "/a"; find-my-way did neither. The
    // most specific match was refused for that: try the others, most specific first (rare).
    const all = findAllRoutes(this.#rou3, method, path, NO_PARAMS);
    for (let i = all.length - 1; i >= 0; i--) {
      const m = all[i]!.data === hit.data ? null : accept(all[i]!.data, path);
      if (m !== null) return m;
    }
    return null;
  }
}

function accept<S>(e: Entry<S>, path: string): (RouteMatch<S> & { shape: string }) | null {
  const trailing = path.length > 1 && path.charCodeAt(path.length - 1) === 47;
  if (e.star === 0 && trailing !== e.slash) return null;
  if (e.star === 0 && e.names.length === 1) {
    e.bare ??= { store: e.store, params: NO_PARAMS_MATCHED, method: e.method, shape: e.shape };
    return e.bare;
  }
  const params: Record<string, string> = {};
  for (let i = 1, begin = 1; i < e.names.length; i++) {
    if (i === e.star) {
      const rest = decode(path.slice(begin)); // the rest, trailing slash kept
      if (rest === null) return null;
      params["*"] = rest;
      break;
    }
    const end = path.indexOf("/", begin);
    const name = e.names[i];
    if (name != null) {
      const value = decode(path.slice(begin, end === -1 ? path.length : end));
      if (value === null || value.length > MAX_PARAM_LENGTH) return null;
      params[name] = value;
    }
    if (end === -1) {
      if (e.star !== 0) return null; // "/files" for "/files/*"
      break;
    }
    begin = end + 1;
  }
  return { store: e.store, params, method: e.method, shape: e.shape };
}

/** A param decoded, or null for escapes that are not UTF-8 (find-my-way matched nothing then). */
function decode(s: string): string | null {
  if (!s.includes("%")) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/**
 * Cuts a percent-encoded path after a mount prefix. The router matched the prefix on the decoded
 * path, so the cut falls after as many segments as the prefix has, not as many characters: under
 * `/api`, `/%61pi/status` is `/status`.
 *
 * @example
 * cutPrefix("/%61pi/status", "/api"); // ["/%61pi", "/status"]
 */
export function cutPrefix(path: string, prefix: string): [head: string, rest: string] {
  const head = path.split("/", prefix.split("/").length).join("/");
  return [head, path.slice(head.length)];
}
