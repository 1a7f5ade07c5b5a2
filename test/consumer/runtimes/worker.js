// workerd: a module Worker whose fetch is app.fetch, bundled by esbuild for the browser platform
// (which fails on any Node built-in) and run by Miniflare without Node compatibility flags.
import { app } from "./app.js";

export default { fetch: app.fetch };
