import { defaultsOf } from './parse.js';
import { SERVER_OPTIONS, type ServerConfig } from './schema.js';

/** Everything `serve` accepts: the type comes from the config schema (src/config/schema.ts). */
export type { ServerConfig } from './schema.js';

/** `serve`'s defaults, from the config schema. */
export const SERVER_DEFAULTS: ServerConfig = defaultsOf(SERVER_OPTIONS);
