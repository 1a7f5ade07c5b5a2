import FindMyWay, { type HTTPMethod } from "find-my-way";

/** A route table hit: what was stored for the route, and the path parameters, decoded. */
export interface RouteMatch<S> {
  readonly store: S;
  readonly params: Record<string, string>;
}

/**
 * The route table of an app: methods and paths to what the app stored for them. Paths are matched
 * on their decoded form (`/%61pi` finds `/api`); parameters come back percent-decoded; `*` at the
 * end of a path captures the rest as `params["*"]`.
 *
 * @example
 * const table = new RouteTable<string>();
 * table.add("GET", "/users/:id", "user");
 * table.find("GET", "/users/7"); // { store: "user", params: { id: "7" } }
 */
export class RouteTable<S> {
  readonly #router = FindMyWay<FindMyWay.HTTPVersion.V1>({
    ignoreTrailingSlash: false,
    maxParamLength: 1000,
  });

  /** Adds a route for one method. */
  add(method: string, path: string, store: S): void {
    this.#router.on(method as HTTPMethod, path, noop, { store });
  }

  /** Adds a route for every method (a mount). */
  addAny(path: string, store: S): void {
    this.#router.all(path, noop, { store });
  }

  /** The route for a method and a percent-encoded path (no query), or null. */
  find(method: string, path: string): RouteMatch<S> | null {
    const found = this.#router.find(method as HTTPMethod, path);
    if (found === null) return null;
    // The router's params object has a prototype of its own, so a handler returning it would not
    // be recognised as plain JSON: hand out a plain copy.
    return {
      store: (found.store as { store: S }).store,
      params: { ...found.params } as Record<string, string>,
    };
  }
}

function noop(): void {}

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
