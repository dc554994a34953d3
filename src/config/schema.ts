import os from 'node:os';
import path from 'node:path';

/**
 * Config is a schema with defaults: every option is declared once here, with its flag, its
 * `CIS490_*` environment variable, its type, default and help line. The CLI's parser, `--help`
 * and the README's flag table all derive from these declarations.
 */
export type OptionType = 'string' | 'path' | 'int' | 'number' | 'boolean' | 'int-or-all';

export interface OptionSpec {
  /** camelCase key in the parsed config object. */
  key: string;
  /** Flag without the leading dashes, e.g. `data-root`. */
  flag: string;
  /** Environment variable, e.g. `CIS490_DATA_ROOT`; absent for per-invocation flags. */
  env?: string;
  type: OptionType;
  /** Default value; a function is evaluated at parse time (reads the environment). */
  default?: string | number | boolean | (() => string | number | boolean);
  /** Value placeholder in help, e.g. `DIR`. */
  arg?: string;
  /** Inclusive bounds for numbers. */
  min?: number;
  max?: number;
  /** Allowed values for a string option. */
  choices?: readonly string[];
  description: string;
}

/**
 * `$XDG_STATE_HOME/cis490-dashboard`, falling back to `~/.local/state/cis490-dashboard`: the folder
 * holding one default state dir per data root (see `defaultStateDirFor` in src/state/data-root-id.ts).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'cis490-dashboard');
}

export const DATA_ROOT: OptionSpec = {
  key: 'dataRoot',
  flag: 'data-root',
  env: 'CIS490_DATA_ROOT',
  type: 'path',
  default: '/var/lib/cis490',
  arg: 'DIR',
  description: 'The receiver data root to read (never written).',
};

export const STATE_DIR: OptionSpec = {
  key: 'stateDir',
  flag: 'state-dir',
  env: 'CIS490_STATE_DIR',
  type: 'path',
  arg: 'DIR',
  description:
    "The dashboard's own state (SQLite catalog, tail checkpoints), owned by one process. Default: $XDG_STATE_HOME/cis490-dashboard/<name>-<hash>, one per data root.",
};

export const RESET_STATE: OptionSpec = {
  key: 'resetState',
  flag: 'reset-state',
  env: 'CIS490_RESET_STATE',
  type: 'boolean',
  default: false,
  description:
    'A state dir whose catalog belongs to another data root is refused; with this flag its catalog is set aside (catalog.other-root-<time>.sqlite) and rebuilt.',
};

export const LOG_LEVEL: OptionSpec = {
  key: 'logLevel',
  flag: 'log-level',
  env: 'CIS490_LOG_LEVEL',
  type: 'string',
  default: 'info',
  arg: 'LEVEL',
  choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  description: 'Log level (JSON lines on stdout; pretty on a terminal).',
};

/** Options of the server (`serve`, and `demo` which serves too). */
export const SERVER_OPTIONS: readonly OptionSpec[] = [
  DATA_ROOT,
  STATE_DIR,
  RESET_STATE,
  {
    key: 'host',
    flag: 'host',
    env: 'CIS490_HOST',
    type: 'string',
    default: '127.0.0.1',
    arg: 'ADDR',
    description: 'Address to listen on. Anything but loopback exposes the lab: see SECURITY.md.',
  },
  {
    key: 'port',
    flag: 'port',
    env: 'CIS490_PORT',
    type: 'int',
    default: 8490,
    min: 0,
    max: 65535,
    arg: 'N',
    description: 'TCP port (0 picks a free one and prints it).',
  },
  {
    key: 'phaseTokenFile',
    flag: 'phase-token',
    env: 'CIS490_PHASE_TOKEN',
    type: 'path',
    arg: 'FILE',
    description:
      'File holding the bearer token POST /api/phase requires; without it the endpoint answers 503.',
  },
  {
    key: 'readTokenFile',
    flag: 'read-token',
    env: 'CIS490_READ_TOKEN',
    type: 'path',
    arg: 'FILE',
    description: 'File holding a token every reader (API, WebSocket, app) must present.',
  },
  {
    key: 'allowedOrigins',
    flag: 'allowed-origin',
    env: 'CIS490_ALLOWED_ORIGINS',
    type: 'string',
    arg: 'ORIGIN[,ORIGIN]',
    description:
      "Origins besides the server's own whose pages may open the WebSocket (a reverse proxy on another origin); comma-separated.",
  },
  {
    key: 'snapshotInterval',
    flag: 'snapshot-interval',
    env: 'CIS490_SNAPSHOT_INTERVAL',
    type: 'number',
    default: 30,
    min: 0.05,
    max: 86400,
    arg: 'SEC',
    description: 'Seconds between `snapshot` events (built from the live state, never a re-read).',
  },
  {
    key: 'pollInterval',
    flag: 'poll-interval',
    env: 'CIS490_POLL_INTERVAL',
    type: 'number',
    default: 0.5,
    min: 0.01,
    max: 60,
    arg: 'SEC',
    description: 'Polling backstop for tailed files, beside file-system notifications.',
  },
  {
    key: 'rescanInterval',
    flag: 'rescan-interval',
    env: 'CIS490_RESCAN_INTERVAL',
    type: 'number',
    default: 60,
    min: 0.05,
    max: 86400,
    arg: 'SEC',
    description: 'Seconds between full rescans of episodes/ and health/ (notifications cover the rest).',
  },
  {
    key: 'phaseInterval',
    flag: 'phase-interval',
    env: 'CIS490_PHASE_INTERVAL',
    type: 'number',
    default: 600,
    min: 0.05,
    max: 86400,
    arg: 'SEC',
    description: 'Seconds between phase-mix refreshes (new episodes also trigger one, debounced).',
  },
  {
    key: 'phaseSample',
    flag: 'phase-sample',
    env: 'CIS490_PHASE_SAMPLE',
    type: 'int-or-all',
    default: 'all',
    min: 1,
    arg: 'N|all',
    description: "Phase mix over a random sample of N episodes (the old dashboard's mode) or all of them.",
  },
  {
    key: 'replayBuffer',
    flag: 'replay-buffer',
    env: 'CIS490_REPLAY_BUFFER',
    type: 'int',
    default: 10000,
    min: 100,
    max: 10_000_000,
    arg: 'N',
    description: 'Events kept for clients resuming with ?since=SEQ.',
  },
  {
    key: 'clientQueueBytes',
    flag: 'client-queue-bytes',
    env: 'CIS490_CLIENT_QUEUE_BYTES',
    type: 'int',
    default: 1024 * 1024,
    min: 1024,
    max: 1024 * 1024 * 1024,
    arg: 'BYTES',
    description: 'A WebSocket client with more than this queued is closed (code 4000) and may resume.',
  },
  {
    key: 'pingInterval',
    flag: 'ping-interval',
    env: 'CIS490_PING_INTERVAL',
    type: 'number',
    default: 25,
    min: 0.05,
    max: 3600,
    arg: 'SEC',
    description: 'WebSocket ping period; a peer silent for two periods plus 10 s is dropped.',
  },
  {
    key: 'hostThresholds',
    flag: 'host-thresholds',
    env: 'CIS490_HOST_THRESHOLDS',
    type: 'string',
    arg: 'LIST',
    description:
      'Host status thresholds over the defaults, e.g. stale_warn=60m,stale_crit=3h,heartbeat_warn=5m,heartbeat_crit=15m,disk_warn=10%,disk_crit=5%,queue_warn=10,queue_crit=50.',
  },
  {
    key: 'webDir',
    flag: 'web-dir',
    env: 'CIS490_WEB_DIR',
    type: 'path',
    arg: 'DIR',
    description: 'Built web app to serve at / (default: the package’s web-dist/).',
  },
  LOG_LEVEL,
];

export const GENERATE_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'out',
    flag: 'out',
    type: 'path',
    arg: 'DIR',
    description: 'Where to write the data root (created; must be empty or absent).',
  },
  {
    key: 'hosts',
    flag: 'hosts',
    type: 'int',
    default: 4,
    min: 1,
    max: 10000,
    arg: 'N',
    description: 'Number of hosts.',
  },
  {
    key: 'episodes',
    flag: 'episodes',
    type: 'int',
    default: 40,
    min: 0,
    max: 10_000_000,
    arg: 'N',
    description: 'Episode tarballs to write.',
  },
  {
    key: 'indexLines',
    flag: 'index-lines',
    type: 'int',
    min: 0,
    max: 100_000_000,
    arg: 'N',
    description: 'Lines in index.jsonl (default: one per episode; more adds index-only episodes cheaply).',
  },
  {
    key: 'indexStyle',
    flag: 'index-style',
    type: 'string',
    default: 'python',
    choices: ['compact', 'python', 'mixed'],
    arg: 'STYLE',
    description:
      'How index.jsonl and alerts.jsonl lines are written: python (json.dumps: ", " and ": ", \\uXXXX escapes, isoformat times), compact (no spaces), or mixed (any key order, extra keys, every time form, NaN).',
  },
  {
    key: 'alerts',
    flag: 'alerts',
    type: 'int',
    default: 20,
    min: 0,
    max: 10_000_000,
    arg: 'N',
    description: 'Lines in alerts.jsonl.',
  },
  {
    key: 'telemetryKb',
    flag: 'telemetry-kb',
    type: 'int',
    default: 64,
    min: 0,
    max: 1024 * 1024,
    arg: 'K',
    description: 'Size of each episode’s telemetry member, in KiB (before compression).',
  },
  {
    key: 'seed',
    flag: 'seed',
    type: 'int',
    default: 1,
    min: 0,
    max: 2 ** 31 - 1,
    arg: 'S',
    description: 'Random seed; the same seed writes the same root.',
  },
  LOG_LEVEL,
];

export const SNAPSHOT_OPTIONS: readonly OptionSpec[] = [DATA_ROOT, LOG_LEVEL];

export const PHASE_MIX_OPTIONS: readonly OptionSpec[] = [
  DATA_ROOT,
  {
    key: 'stateDir',
    flag: 'state-dir',
    env: 'CIS490_STATE_DIR',
    type: 'path',
    arg: 'DIR',
    description: 'Use and fill the label cache in this state dir (default: no cache).',
  },
  RESET_STATE,
  {
    key: 'sample',
    flag: 'sample',
    type: 'int-or-all',
    default: 'all',
    min: 1,
    arg: 'N|all',
    description: 'Random sample of N episodes, or all.',
  },
  {
    key: 'json',
    flag: 'json',
    type: 'boolean',
    default: true,
    description: 'Print JSON (the only format; kept for scripts).',
  },
  LOG_LEVEL,
];

/** Server flags `demo` takes as they are: the data root, state dir and phase token are its own. */
const DEMO_SERVER_OPTIONS = SERVER_OPTIONS.filter(
  (s) => !['dataRoot', 'stateDir', 'resetState', 'phaseTokenFile'].includes(s.key),
);

export const DEMO_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'dir',
    flag: 'dir',
    env: 'CIS490_DEMO_DIR',
    type: 'path',
    arg: 'DIR',
    description:
      'The demo folder (data/, state/, phase-token); an earlier demo there is continued. Default: a fresh folder under the OS temp dir.',
  },
  {
    key: 'hosts',
    flag: 'hosts',
    type: 'int',
    default: 4,
    min: 1,
    max: 100,
    arg: 'N',
    description: 'Simulated hosts (one goes quiet now and then, one ships a corrupt tarball now and then).',
  },
  {
    key: 'rate',
    flag: 'rate',
    type: 'number',
    default: 30,
    min: 0.1,
    max: 600,
    arg: 'R',
    description: 'Episodes per minute, all hosts together (every other timing scales with it).',
  },
  ...DEMO_SERVER_OPTIONS,
];
