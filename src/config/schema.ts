import os from 'node:os';
import path from 'node:path';
import { type Static, type TSchema, Type } from 'typebox';

/**
 * Config is one schema: every option is declared once here, as a TypeBox property with its type,
 * bounds, default and description, plus the CLI's part (`x-env`, `x-arg`, `x-flag`). The config
 * types (`ServerConfig`, …) are `Static<>` of these objects; the CLI's parser, `--help`, the
 * defaults and the README's flag tables all derive from them (test/readme.test.ts and
 * src/config/parse.test.ts fail when one drifts).
 */

/** The CLI's part of an option, kept as `x-` keywords beside the JSON Schema ones. */
export interface CliMeta {
  /** Environment variable, e.g. `CIS490_DATA_ROOT`; absent for per-invocation flags. */
  'x-env'?: string;
  /** Value placeholder in help, e.g. `DIR`. */
  'x-arg'?: string;
  /** The flag without dashes when it is not the kebab-case of the key (`readTokenFile` → `read-token`). */
  'x-flag'?: string;
  /** The default as help and README say it, when it is computed at start (the state dir). */
  'x-default-text'?: string;
  /** A default computed at parse time, by name (see `COMPUTED_DEFAULTS`). */
  'x-computed-default'?: keyof typeof COMPUTED_DEFAULTS;
}

/**
 * `$XDG_STATE_HOME/cis490-dashboard`, falling back to `~/.local/state/cis490-dashboard`: the folder
 * holding one default state dir per data root (see `defaultStateDirFor` in src/state/data-root-id.ts).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'cis490-dashboard');
}

/** Defaults that depend on the machine, computed when options are parsed. */
export const COMPUTED_DEFAULTS = {
  stateDir: () => defaultStateDir(),
} as const;

const dataRoot = Type.String({
  minLength: 1,
  default: '/var/lib/cis490',
  description:
    'The receiver data root to read (never written). May not exist yet: it is picked up when it appears.',
  'x-env': 'CIS490_DATA_ROOT',
  'x-arg': 'DIR',
});

const resetState = Type.Boolean({
  default: false,
  description:
    'A state dir whose catalog belongs to another data root is refused; with this flag its catalog is set aside (catalog.other-root-<time>.sqlite) and rebuilt.',
  'x-env': 'CIS490_RESET_STATE',
});

const logLevel = Type.Union(
  [
    Type.Literal('fatal'),
    Type.Literal('error'),
    Type.Literal('warn'),
    Type.Literal('info'),
    Type.Literal('debug'),
    Type.Literal('trace'),
    Type.Literal('silent'),
  ],
  {
    default: 'info',
    description: 'Log level. Logs are JSON lines (pino) on stdout; pretty on a terminal.',
    'x-env': 'CIS490_LOG_LEVEL',
    'x-arg': 'LEVEL',
  },
);

const seconds = (dflt: number, min: number, max: number, env: string, description: string) =>
  Type.Number({ default: dflt, minimum: min, maximum: max, description, 'x-env': env, 'x-arg': 'SEC' });

const SERVE_PROPERTIES = {
  dataRoot,
  stateDir: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "The dashboard's own state (SQLite catalog, tail checkpoints), owned by one process. Default: one per data root.",
      'x-env': 'CIS490_STATE_DIR',
      'x-arg': 'DIR',
      'x-default-text': '$XDG_STATE_HOME/cis490-dashboard/<name>-<hash>',
    }),
  ),
  resetState,
  host: Type.String({
    minLength: 1,
    default: '127.0.0.1',
    description:
      'Address to listen on. Anything but loopback without `--read-token` logs a warning (see SECURITY.md).',
    'x-env': 'CIS490_HOST',
    'x-arg': 'ADDR',
  }),
  port: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 8490,
    description: 'TCP port; `0` picks a free one (the URL is printed).',
    'x-env': 'CIS490_PORT',
    'x-arg': 'N',
  }),
  phaseTokenFile: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'File holding the bearer token `POST /api/phase` requires; without it that endpoint answers 503.',
      'x-env': 'CIS490_PHASE_TOKEN',
      'x-arg': 'FILE',
      'x-flag': 'phase-token',
    }),
  ),
  readTokenFile: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'File holding a token every reader (API, WebSocket, app) must present: `Authorization: Bearer <token>`, or a cookie from a one-time `/?token=` login. See SECURITY.md.',
      'x-env': 'CIS490_READ_TOKEN',
      'x-arg': 'FILE',
      'x-flag': 'read-token',
    }),
  ),
  allowedOrigins: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description:
      "Origins besides the server's own (e.g. `https://dash.lab.example`) whose pages may open the WebSocket: a reverse proxy serving the app on another origin. Comma-separated. Other origins get 403 on the upgrade.",
    'x-env': 'CIS490_ALLOWED_ORIGINS',
    'x-arg': 'ORIGIN[,ORIGIN]',
    'x-flag': 'allowed-origin',
  }),
  snapshotInterval: seconds(
    30,
    0.05,
    86400,
    'CIS490_SNAPSHOT_INTERVAL',
    'Seconds between `snapshot` events, built from the live state (never a re-read); one that would repeat the last snapshot exactly is not sent.',
  ),
  pollInterval: seconds(
    0.5,
    0.01,
    60,
    'CIS490_POLL_INTERVAL',
    'Polling backstop for the tailed files, beside file-system notifications.',
  ),
  rescanInterval: seconds(
    60,
    0.05,
    86400,
    'CIS490_RESCAN_INTERVAL',
    'Seconds between full rescans of `episodes/` and `health/` (notifications cover the time between).',
  ),
  phaseInterval: seconds(
    600,
    0.05,
    86400,
    'CIS490_PHASE_INTERVAL',
    'Seconds between phase-mix refreshes (new episodes also trigger one, debounced).',
  ),
  phaseSample: Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('all')], {
    default: 'all',
    description: "Phase mix over a random sample of N episodes (the old dashboard's mode) or all of them.",
    'x-env': 'CIS490_PHASE_SAMPLE',
    'x-arg': 'N|all',
  }),
  replayBuffer: Type.Integer({
    minimum: 100,
    maximum: 10_000_000,
    default: 10_000,
    description: 'Events kept for clients that resume with `?since=SEQ`.',
    'x-env': 'CIS490_REPLAY_BUFFER',
    'x-arg': 'N',
  }),
  clientQueueBytes: Type.Integer({
    minimum: 1024,
    maximum: 1024 * 1024 * 1024,
    default: 1024 * 1024,
    description: 'A WebSocket client with more than this queued is closed with code 4000 and may resume.',
    'x-env': 'CIS490_CLIENT_QUEUE_BYTES',
    'x-arg': 'BYTES',
  }),
  pingInterval: seconds(
    25,
    0.05,
    3600,
    'CIS490_PING_INTERVAL',
    'WebSocket ping period; a peer silent for two periods plus 10 s is dropped.',
  ),
  hostThresholds: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'Host status thresholds over the defaults, e.g. stale_warn=60m,stale_crit=3h,heartbeat_warn=5m,heartbeat_crit=15m,disk_warn=10%,disk_crit=5%,queue_warn=10,queue_crit=50. Each name once; times above 0, disk shares up to 100%, a critical one past its warning.',
      'x-env': 'CIS490_HOST_THRESHOLDS',
      'x-arg': 'LIST',
    }),
  ),
  webDir: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'The built web app served at `/` (default: the package’s `web-dist/`). A path that is not a folder is refused (exit 2); an empty folder serves the API alone.',
      'x-env': 'CIS490_WEB_DIR',
      'x-arg': 'DIR',
    }),
  ),
  redis: Type.Optional(
    Type.String({
      pattern: '^rediss?://[^\\s]+$',
      'x-shape': 'a redis:// or rediss:// URL',
      description:
        'Serve as a replica of the shared stream on this Redis (`redis://host:port[/db]`, `rediss://` for TLS; scale-out, see README): no data root of its own, the receivers’ agents feed it. `--data-root` is then ignored.',
      'x-env': 'CIS490_REDIS',
      'x-arg': 'URL',
    }),
  ),
  namespace: Type.String({
    pattern: '^[A-Za-z0-9._-]{1,64}$',
    'x-shape': '1–64 letters, digits, dots, underscores or dashes',
    default: 'cis490',
    description:
      'With `--redis`: the shared log’s namespace (the Redis hash tag of every key); agents and replicas of one lab share it.',
    'x-env': 'CIS490_REDIS_NAMESPACE',
    'x-arg': 'NAME',
  }),
  logLevel,
};

/** `serve`: every field has a flag and a CIS490_* variable. */
export const SERVER_OPTIONS = Type.Object(SERVE_PROPERTIES);
/** Everything `serve` accepts, as the server takes it. */
export type ServerConfig = Static<typeof SERVER_OPTIONS>;

export const GENERATE_OPTIONS = Type.Object({
  out: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'Where to write the data root; created, must be empty or absent. Required.',
      'x-arg': 'DIR',
    }),
  ),
  hosts: Type.Integer({
    minimum: 1,
    maximum: 10000,
    default: 4,
    description: 'Number of hosts (`host-01`, …).',
    'x-arg': 'N',
  }),
  episodes: Type.Integer({
    minimum: 0,
    maximum: 10_000_000,
    default: 40,
    description: 'Episode tarballs to write.',
    'x-arg': 'N',
  }),
  indexLines: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 100_000_000,
      description:
        'Lines in `index.jsonl` (default: one per episode); more adds cheap index-only episodes (a 1,000,000-line index in seconds).',
      'x-arg': 'N',
    }),
  ),
  indexStyle: Type.Union([Type.Literal('compact'), Type.Literal('python'), Type.Literal('mixed')], {
    default: 'python',
    description:
      'How index.jsonl and alerts.jsonl lines are written: python (json.dumps: ", " and ": ", \\uXXXX escapes, isoformat times), compact (no spaces), or mixed (any key order, extra keys, every time form, NaN).',
    'x-arg': 'STYLE',
  }),
  alerts: Type.Integer({
    minimum: 0,
    maximum: 10_000_000,
    default: 20,
    description: 'Lines in `alerts.jsonl` (with repeating `dedup_key`s).',
    'x-arg': 'N',
  }),
  telemetryKb: Type.Integer({
    minimum: 0,
    maximum: 1024 * 1024,
    default: 64,
    description: "Size of each episode's telemetry member, KiB before compression.",
    'x-arg': 'K',
  }),
  seed: Type.Integer({
    minimum: 0,
    maximum: 2 ** 31 - 1,
    default: 1,
    description: 'Random seed; the same seed writes the same root, byte for byte.',
    'x-arg': 'S',
  }),
  logLevel,
});
export type GenerateConfig = Static<typeof GENERATE_OPTIONS>;

export const SNAPSHOT_OPTIONS = Type.Object({ dataRoot, logLevel });
export type SnapshotConfig = Static<typeof SNAPSHOT_OPTIONS>;

export const PHASE_MIX_OPTIONS = Type.Object({
  dataRoot,
  stateDir: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'Use and fill the label cache in this state dir (without it nothing is cached or written).',
      'x-env': 'CIS490_STATE_DIR',
      'x-arg': 'DIR',
    }),
  ),
  resetState,
  sample: Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('all')], {
    default: 'all',
    description: "Random sample of N episodes (the old dashboard's mode), or all.",
    'x-arg': 'N|all',
  }),
  json: Type.Boolean({ default: true, description: 'Print JSON (the only format; kept for scripts).' }),
  logLevel,
});
export type PhaseMixConfig = Static<typeof PHASE_MIX_OPTIONS>;

/** Server flags `demo` takes as they are: the data root, state dir and phase token are its own. */
const {
  dataRoot: _d,
  stateDir: _s,
  resetState: _r,
  phaseTokenFile: _p,
  redis: _redis,
  namespace: _ns,
  ...DEMO_SERVER_PROPERTIES
} = SERVE_PROPERTIES;

export const DEMO_OPTIONS = Type.Object({
  dir: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'The demo folder: `data/` (the data root), `state/` (the state dir), `phase-token`. A folder holding an earlier demo is continued, not regenerated; one holding anything else is refused (exit 2). Default: a fresh `cis490-demo-*` folder under the OS temp dir.',
      'x-env': 'CIS490_DEMO_DIR',
      'x-arg': 'DIR',
    }),
  ),
  hosts: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 4,
    description:
      'Simulated hosts. With two or more, the last goes quiet now and then; the first ships a corrupt tarball now and then.',
    'x-arg': 'N',
  }),
  rate: Type.Number({
    minimum: 0.1,
    maximum: 600,
    default: 30,
    description:
      "Episodes per minute over all hosts, less the quiet host's share while it is quiet. Every other timing (phases, heartbeats, alerts, rotations) scales with it.",
    'x-arg': 'R',
  }),
  cluster: Type.Boolean({
    default: false,
    description:
      'The scale-out topology on this machine (README, "Scale out"): a real `redis-server` from PATH (Debian package `redis-server`), three simulated receivers with an agent each, two replicas behind the one port (round robin). `--hosts` and `--rate` are per receiver; `--dir` does not apply: all of it lives in a temp folder removed at Ctrl-C.',
  }),
  ...DEMO_SERVER_PROPERTIES,
});
export type DemoConfig = Static<typeof DEMO_OPTIONS>;

/** `agent`: one per receiver machine, appending its data root's events to the shared Redis stream. */
export const AGENT_OPTIONS = Type.Object({
  dataRoot,
  redis: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'The shared Redis (≥ 7.0, AOF on): `redis://[user:password@]host:port[/db]`. Required.',
      'x-env': 'CIS490_REDIS',
      'x-arg': 'URL',
    }),
  ),
  receiver: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "This receiver's name, unique in the lab: 1–64 of `A-Z a-z 0-9 . _ -` (it appears in keys, events and metric labels). Required.",
      'x-env': 'CIS490_RECEIVER',
      'x-arg': 'NAME',
    }),
  ),
  namespace: Type.String({
    minLength: 1,
    default: 'cis490',
    description: 'The Redis key namespace (hash tag `{NAME}`): one namespace is one shared stream.',
    'x-env': 'CIS490_REDIS_NAMESPACE',
    'x-arg': 'NAME',
  }),
  listen: Type.String({
    minLength: 1,
    default: '127.0.0.1:8491',
    description:
      'Where the agent serves episode details and downloads for replicas to proxy (`/api/episodes/:id`, `…/download`), its row export (`/api/rows`), `/livez` and `/readyz`; port `0` picks a free one. Beyond loopback, give `--read-token`.',
    'x-env': 'CIS490_AGENT_LISTEN',
    'x-arg': 'HOST:PORT',
  }),
  advertiseUrl: Type.Optional(
    Type.String({
      minLength: 1,
      pattern: '^https?://[^\\s/]+(/[^\\s]*)?$',
      'x-shape': 'an http:// or https:// URL',
      description:
        'The URL replicas reach this agent by, written in its heartbeat (default: `http://` + the address it listens on).',
      'x-env': 'CIS490_AGENT_URL',
      'x-arg': 'URL',
    }),
  ),
  readTokenFile: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'File holding the token every request but /livez and /readyz must present (`Authorization: Bearer <token>`): the replicas send theirs.',
      'x-env': 'CIS490_READ_TOKEN',
      'x-arg': 'FILE',
      'x-flag': 'read-token',
    }),
  ),
  stateDir: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "The agent's own state: its row store (`agent-rows.sqlite`, the catalog rows it appended with their seqs, served to replicas that start after the stream was trimmed). Default: one per (Redis URL, namespace, receiver).",
      'x-env': 'CIS490_AGENT_STATE_DIR',
      'x-arg': 'DIR',
      'x-default-text': '$XDG_STATE_HOME/cis490-dashboard/agent-<receiver>-<hash>',
    }),
  ),
  snapshotInterval: seconds(
    300,
    0.05,
    86400,
    'CIS490_RECEIVER_SNAPSHOT_INTERVAL',
    "Seconds between snapshots of this receiver's state in Redis (one is also written at start); a replica or a restarted agent starts from it plus the stream after it.",
  ),
  heartbeatInterval: seconds(
    5,
    0.05,
    3600,
    'CIS490_HEARTBEAT_INTERVAL',
    'Seconds between heartbeats in Redis (the key expires after three): replicas call an agent without one down.',
  ),
  pollInterval: SERVE_PROPERTIES.pollInterval,
  rescanInterval: SERVE_PROPERTIES.rescanInterval,
  phaseInterval: SERVE_PROPERTIES.phaseInterval,
  phaseSample: SERVE_PROPERTIES.phaseSample,
  logLevel,
});
export type AgentConfig = Static<typeof AGENT_OPTIONS>;

/** Every command's options, by command name: --help and the README tables come from these. */
export const COMMAND_OPTIONS = {
  serve: SERVER_OPTIONS,
  demo: DEMO_OPTIONS,
  generate: GENERATE_OPTIONS,
  snapshot: SNAPSHOT_OPTIONS,
  'phase-mix': PHASE_MIX_OPTIONS,
  agent: AGENT_OPTIONS,
} as const;

/** One option of a command, as the CLI sees it. */
export interface OptionView {
  key: string;
  flag: string;
  env: string | undefined;
  arg: string | undefined;
  /** The default as help and README print it; undefined when there is none. */
  defaultText: string | undefined;
  description: string;
  schema: TSchema;
}

function metaString(schema: TSchema, key: keyof CliMeta | 'description'): string | undefined {
  const v: unknown = Reflect.get(schema, key);
  return typeof v === 'string' ? v : undefined;
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function defaultText(schema: TSchema): string | undefined {
  const text = metaString(schema, 'x-default-text');
  if (text !== undefined) return text;
  const d: unknown = Reflect.get(schema, 'default');
  if (d === undefined || (Array.isArray(d) && d.length === 0)) return undefined;
  return Array.isArray(d) ? d.join(',') : String(d);
}

/** The options of a command schema, in declaration order, with their flags and variables. */
export function optionViews(schema: { properties: Record<string, TSchema> }): OptionView[] {
  return Object.entries(schema.properties).map(([key, s]) => ({
    key,
    flag: metaString(s, 'x-flag') ?? kebab(key),
    env: metaString(s, 'x-env'),
    arg: metaString(s, 'x-arg'),
    defaultText: defaultText(s),
    description: metaString(s, 'description') ?? '',
    schema: s,
  }));
}
