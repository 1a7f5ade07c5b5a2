// The public surface of "sluice/redis": broadcast channels in Redis Streams, for several processes
// serving the same channels. Needs the optional peer dependency @redis/client (node-redis). Each
// export is listed by name; src/index.test.ts snapshots the list.

export { RedisBackend, type RedisBackendOptions } from "./backend.ts";
