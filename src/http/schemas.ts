import type { FastifySchema, FastifySchemaCompiler } from 'fastify';
import { type TProperties, type TSchema, Type } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * TypeBox schemas of every route (query, params, body, reply). Requests are validated against
 * them (no coercion, no silent removal: an unknown parameter is a 400 naming it); replies are
 * documented by them in `GET /api/openapi.json` and checked against real answers in
 * `openapi.test.ts`, while the types in `src/protocol/` stay the web app's (a type-level test
 * there fails when the two drift).
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Obj = Type.Record(Type.String(), Type.Unknown());
const Counts = Type.Record(Type.String(), Type.Number());

// ─────────────────────────── requests ───────────────────────────

/** A query of exactly these parameters (all optional, as strings: the route parses them). */
const Query = (props: TProperties) => Type.Object(props, { additionalProperties: false });
const param = (description: string, extra: { pattern?: string; maxLength?: number } = {}) =>
  Type.Optional(Type.String({ description, ...extra }));
/** `?host=a&host=b` arrives as an array; `?host=a,b` works too. */
const repeatable = (description: string) =>
  Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], { description }));
const WHOLE = '^\\d+$';
const TIME = 'ISO-8601 (a naive time is UTC) or epoch seconds';

export const EPISODE_FILTER_QUERY = {
  host: repeatable('Host id (repeatable, or comma-separated).'),
  q: param('Episode id or sha256 prefix (surrounding ASCII spaces ignored).', { maxLength: 256 }),
  from: param(`Received at or after: ${TIME}.`),
  to: param(`Received at or before: ${TIME}.`),
  min_size: param('Smallest size_bytes.', { pattern: WHOLE }),
  max_size: param('Largest size_bytes.', { pattern: WHOLE }),
  status: repeatable('ok, missing, unindexed, corrupt or unverified (repeatable).'),
  phase: repeatable(
    'A phase of labels.jsonl (repeatable): episodes holding any of them; an episode whose tarball is not read yet matches none.',
  ),
};
const PAGE_QUERY = {
  limit: param('Rows per page, 1–500 (default 100).', { pattern: WHOLE }),
  cursor: param('The `next_cursor` of the previous page.'),
};
export const EpisodesQuery = Query({ ...EPISODE_FILTER_QUERY, ...PAGE_QUERY });
export const FacetsQuery = Query({
  ...EPISODE_FILTER_QUERY,
  with_phases: param('1: also count by phase (`phase`, `phase_unknown`); reads the label cache.', {
    pattern: '^[01]$',
  }),
});
export const NoQuery = Query({});
export const AlertsQuery = Query({
  host: repeatable('Host id (repeatable, or comma-separated).'),
  symptom: repeatable('Symptom (repeatable, or comma-separated).'),
  from: param(`Detected at or after: ${TIME}.`),
  to: param(`Detected at or before: ${TIME}.`),
  dedup: param(
    '1 groups by dedup_key with count, first_seen, last_seen (on a replica: by receiver and dedup_key).',
    {
      pattern: '^(0|1|true|false|yes|no)$',
    },
  ),
  receiver: repeatable(
    'Replica (serve --redis) only: these receivers (repeatable, or comma-separated). A single box answers 400.',
  ),
  ...PAGE_QUERY,
});
const RECEIVER_NOTE =
  "Replica (serve --redis) only: the group's receiver (needed when several receivers hold the key).";
export const AlertLifecycleQuery = Query({
  host: repeatable('Host id (repeatable, or comma-separated).'),
  symptom: repeatable('Symptom (repeatable, or comma-separated).'),
  state: repeatable('open, acknowledged, silenced or resolved (repeatable).'),
  receiver: repeatable(
    'Replica (serve --redis) only: these receivers (repeatable, or comma-separated). A single box answers 400.',
  ),
  limit: param('Groups to return, 1–5000 (default 500).', { pattern: WHOLE }),
});
export const AlertActionDeleteQuery = Query({
  dedup_key: param('The alert group whose acknowledgement or silence is taken back.'),
  receiver: param(RECEIVER_NOTE),
});
const RECEIVER_FIELD = Type.Optional(Type.String({ description: RECEIVER_NOTE }));
export const AlertActionBody = Type.Object(
  {
    dedup_key: Type.String({ minLength: 1, maxLength: 200 }),
    receiver: Type.Optional(Nullable(Type.String({ maxLength: 200, description: RECEIVER_NOTE }))),
    kind: Type.Union([Type.Literal('acknowledge'), Type.Literal('silence')]),
    by: Type.String({ minLength: 1, maxLength: 200 }),
    until: Type.Optional(Nullable(Type.Union([Type.String(), Type.Number()], { description: TIME }))),
    note: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  },
  { description: 'Acknowledge (until a newer occurrence) or silence (until a time) an alert group.' },
);
export const PhaseMixQuery = Query({ host: param("One host's mix instead of the dataset's.") });
export const EpisodeParams = Type.Object({ id: Type.String({ description: 'Episode id.' }) });
/** The download's request headers (any others pass). */
export const DownloadHeaders = Type.Object({
  range: Type.Optional(
    Type.String({
      description:
        'One byte range: `bytes=a-b`, `bytes=a-` or `bytes=-n` (206, or 416 past the end). Several ranges or a malformed value are ignored (200, whole file).',
    }),
  ),
  'if-range': Type.Optional(
    Type.String({
      description:
        'The server issues no validator to compare: with If-Range, Range is ignored (200, whole file).',
    }),
  ),
});
export const PhasePostBody = Type.Object(
  {
    host_id: Type.String({ minLength: 1, maxLength: 200 }),
    phase: Type.String({ minLength: 1, maxLength: 200 }),
    episode_id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 200 }))),
    at: Type.Optional(Nullable(Type.Union([Type.String(), Type.Number()], { description: TIME }))),
  },
  { description: 'A live phase transition.' },
);

// ─────────────────────────── replies ───────────────────────────

export const ApiErrorSchema = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { description: 'Every 4xx and 5xx answer.' },
);
const EpisodeStatus = Type.Union([
  Type.Literal('ok'),
  Type.Literal('missing'),
  Type.Literal('unindexed'),
  Type.Literal('corrupt'),
  Type.Literal('unverified'),
]);
const StatusCounts = Type.Object(
  {
    ok: Type.Optional(Type.Number()),
    missing: Type.Optional(Type.Number()),
    unindexed: Type.Optional(Type.Number()),
    corrupt: Type.Optional(Type.Number()),
    unverified: Type.Optional(Type.Number()),
  },
  { description: 'Counts by integrity status.' },
);
const EPISODE_RECORD = {
  episode_id: Type.String(),
  host_id: Type.String(),
  sha256: Nullable(Type.String()),
  size_bytes: Nullable(Type.Number()),
  received_at: Nullable(Type.String({ description: 'ISO-8601 UTC.' })),
  path: Type.Optional(Type.String()),
  extra: Type.Optional(Obj),
};
export const EpisodeRecordSchema = Type.Object(EPISODE_RECORD);
export const EpisodeListItemSchema = Type.Object({ ...EPISODE_RECORD, status: EpisodeStatus });
const ALERT_RECORD = {
  host_id: Nullable(Type.String()),
  symptom: Nullable(Type.String()),
  detail: Nullable(Type.String()),
  suggested_fix: Nullable(Type.String()),
  detected_at: Nullable(Type.String()),
  dedup_key: Nullable(Type.String()),
  extra: Type.Optional(Obj),
  receiver: Type.Optional(
    Type.String({ description: 'Replica (serve --redis) only: the receiver it came from.' }),
  ),
};
export const AlertRecordSchema = Type.Object(ALERT_RECORD);
export const AlertGroupSchema = Type.Object({
  ...ALERT_RECORD,
  count: Type.Number(),
  first_seen: Nullable(Type.String()),
  last_seen: Nullable(Type.String()),
});
export const HostHealthSchema = Type.Object({
  host_id: Type.String(),
  read_at: Type.String(),
  file_mtime: Type.String(),
  data: Obj,
});
export const PhaseTransitionSchema = Type.Object({
  host_id: Type.String(),
  episode_id: Nullable(Type.String()),
  phase: Type.String(),
  at: Type.String(),
});
const PHASE_TOTALS = {
  counts: Counts,
  weighted_seconds: Counts,
  sampled_episodes: Type.Number(),
  total_labels: Type.Number(),
};
export const PhaseMixSchema = Type.Object({
  ...PHASE_TOTALS,
  population_episodes: Type.Number(),
  per_host: Type.Record(Type.String(), Type.Object({ ...PHASE_TOTALS, population_episodes: Type.Number() })),
  skipped: Counts,
  computed_at: Type.String(),
  mode: Type.Union([Type.Literal('all'), Type.Number()]),
});
export const DashboardStateSchema = Type.Object(
  {
    total_episodes: Type.Number(),
    total_alerts: Type.Number(),
    total_bytes: Type.Number(),
    host_counts: Counts,
    recent_episodes: Type.Array(EpisodeRecordSchema),
    host_bytes: Counts,
    hosts_indexed: Type.Record(
      Type.String(),
      Type.Object({
        episodes: Type.Number(),
        bytes: Type.Number(),
        last_received_at: Nullable(Type.String()),
      }),
    ),
    recent_alerts: Type.Array(AlertRecordSchema),
    host_last_alert: Type.Record(Type.String(), AlertRecordSchema),
    health: Type.Record(Type.String(), HostHealthSchema),
    ready: Type.Boolean(),
    integrity: Nullable(
      Type.Object({ total: StatusCounts, hosts: Type.Record(Type.String(), StatusCounts) }),
    ),
    phase_mix: Nullable(PhaseMixSchema),
    live_phases: Type.Record(Type.String(), PhaseTransitionSchema),
    data_root: Nullable(
      Type.Object({
        path: Type.String(),
        ok: Type.Boolean(),
        error: Nullable(Type.String()),
        since: Type.String(),
      }),
    ),
    alert_actions: Type.Record(
      Type.String(),
      Type.Object({
        dedup_key: Type.String(),
        receiver: Type.Optional(Type.String()),
        kind: Type.Union([Type.Literal('acknowledge'), Type.Literal('silence')]),
        by: Type.String(),
        at: Type.String(),
        until: Nullable(Type.String()),
        note: Nullable(Type.String()),
      }),
    ),
    host_thresholds: Nullable(
      Type.Object({
        stale_warn_min: Type.Number(),
        stale_crit_min: Type.Number(),
        heartbeat_warn_min: Type.Number(),
        heartbeat_crit_min: Type.Number(),
        disk_warn: Type.Number(),
        disk_crit: Type.Number(),
        queue_warn: Type.Number(),
        queue_crit: Type.Number(),
      }),
    ),
    receivers: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object({
          total_episodes: Type.Number(),
          total_alerts: Type.Number(),
          total_bytes: Type.Number(),
          ready: Type.Boolean(),
          integrity: Nullable(StatusCounts),
          phase_mix: Nullable(PhaseMixSchema),
        }),
        { description: "Scale-out (`serve --redis`) only: each receiver's part of the totals." },
      ),
    ),
  },
  { description: 'The live state (DashboardState in src/protocol/index.ts).' },
);
const HostStatusSchema = Type.Union([Type.Literal('ok'), Type.Literal('warning'), Type.Literal('critical')], {
  description: 'By the one rule of protocol/host-status.ts (the Hosts scene shows the same).',
});
export const HostSummarySchema = Type.Object({
  host_id: Type.String(),
  status: HostStatusSchema,
  status_reasons: Type.Array(
    Type.Object({
      level: Type.Union([Type.Literal('warning'), Type.Literal('critical')]),
      text: Type.String(),
    }),
    { description: 'Why, worst first (empty when ok).' },
  ),
  episodes: Type.Number(),
  bytes: Type.Number(),
  files_on_disk: Type.Number(),
  bytes_on_disk: Type.Number(),
  last_received_at: Nullable(Type.String()),
  health: Nullable(HostHealthSchema),
  last_alert: Nullable(AlertRecordSchema),
  live_phase: Nullable(PhaseTransitionSchema),
  integrity: Type.Optional(StatusCounts),
});
export const HostsResponseSchema = Type.Object({ hosts: Type.Array(HostSummarySchema) });
const Cursor = Nullable(
  Type.String({ description: 'Pass as `cursor` for the next page; null on the last.' }),
);
export const EpisodesPageSchema = Type.Object({
  items: Type.Array(EpisodeListItemSchema),
  next_cursor: Cursor,
  total: Type.Number({ description: 'Rows matching the filter, all pages.' }),
});
export const EpisodeFacetsSchema = Type.Object({
  host: Counts,
  status: StatusCounts,
  phase: Type.Optional(Counts),
  phase_unknown: Type.Optional(Type.Number()),
});
export const EpisodeDetailSchema = Type.Object({
  episode: EpisodeListItemSchema,
  meta: Nullable(Obj),
  labels: Type.Array(
    Type.Object({
      phase: Nullable(Type.String()),
      t_mono_ns: Nullable(Type.Number()),
      duration_s: Nullable(Type.Number()),
      record: Obj,
    }),
  ),
  members: Type.Array(Type.Object({ name: Type.String(), size: Type.Number() })),
  read_error: Nullable(Type.String()),
  download_url: Nullable(Type.String()),
  future_dated: Type.Boolean({
    description:
      'received_at is later than the server clock: kept as written, clamped at now in the last-hour/24 h views and host last-episode times.',
  }),
});
export const AlertsPageSchema = Type.Object({
  items: Type.Union([Type.Array(AlertRecordSchema), Type.Array(AlertGroupSchema)]),
  next_cursor: Cursor,
  total: Type.Number(),
});

/** Route schema with the error replies every route can give. */
export function route(
  summary: string,
  parts: {
    querystring?: TSchema;
    params?: TSchema;
    body?: TSchema;
    headers?: TSchema;
    ok?: TSchema;
    okStatus?: number;
    content?: string;
    /** With `content`: also a 206 (one byte range) of that content type, so described. */
    partial?: string;
  },
): FastifySchema {
  const ok =
    parts.content === undefined
      ? parts.ok
      : { description: summary, content: { [parts.content]: { schema: parts.ok ?? Type.String() } } };
  return {
    summary,
    ...(parts.querystring ? { querystring: parts.querystring } : {}),
    ...(parts.params ? { params: parts.params } : {}),
    ...(parts.body ? { body: parts.body } : {}),
    ...(parts.headers ? { headers: parts.headers } : {}),
    response: {
      [parts.okStatus ?? 200]: ok ?? Type.Unknown(),
      ...(parts.partial !== undefined && parts.content !== undefined
        ? {
            206: {
              description: parts.partial,
              content: { [parts.content]: { schema: parts.ok ?? Type.String() } },
            },
          }
        : {}),
      '4xx': ApiErrorSchema,
      '5xx': ApiErrorSchema,
    },
  };
}

/**
 * Validates with TypeBox itself, without coercion or removal: the value the route sees is the
 * one that came in, and anything the schema does not allow is a 400. Each schema is compiled on
 * its route's first request, not at start: most routes of a wall display are never called, and
 * ~40 compiled checkers cost memory and start-up time for nothing (BENCHMARKS.md, issue 16).
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema }) => {
  let check: ReturnType<typeof Compile<TSchema>> | null = null;
  return (value) => {
    check ??= Compile(schema);
    return check.Check(value) ? { value } : { error: [...check.Errors(value)] as never };
  };
};

/** The patterns of this API's schemas, in the words an error says them in. */
const PATTERN_WORDS: Record<string, string> = {
  '^\\d+$': 'must be a whole number (digits only)',
  '^[01]$': 'must be 0 or 1',
  '^(0|1|true|false|yes|no)$': 'must be 1, 0, true, false, yes or no',
};

/** A validation failure as one sentence naming the parameter (or body field) at fault. */
export function describeValidation(
  errors: ReadonlyArray<{ instancePath?: string; message?: string; keyword?: string; params?: unknown }>,
  part: string,
): string {
  // TypeBox reports an unknown key twice (`schema is false` at its path, then the object's
  // `additionalProperties`): the latter names every unknown key.
  const first = errors.find((e) => e.keyword === 'additionalProperties') ?? errors[0];
  const where = part === 'querystring' ? 'query parameter' : part === 'body' ? 'field' : `${part}`;
  if (!first) return `bad ${part}`;
  const params: Record<string, unknown> =
    typeof first.params === 'object' && first.params !== null ? { ...first.params } : {};
  if (first.keyword === 'additionalProperties') {
    const names = params.additionalProperties;
    const name = Array.isArray(names) ? names.join("', '") : String(names ?? '');
    return part === 'querystring' ? `unknown query parameter '${name}'` : `unknown ${where} '${name}'`;
  }
  if (first.keyword === 'required') {
    const names = params.requiredProperties;
    return `${where} '${Array.isArray(names) ? names.join("', '") : String(names)}' is required`;
  }
  const name = (first.instancePath ?? '').replace(/^\//, '').split('/')[0] ?? '';
  if (part === 'querystring' && first.keyword === 'type' && first.message === 'must be string') {
    return `query parameter '${name}' given more than once`;
  }
  // A pattern or a set of constants, said in words rather than as the regular expression.
  if (first.keyword === 'pattern') {
    const rule = PATTERN_WORDS[String(params.pattern)];
    if (rule !== undefined) return `${where} '${name}' ${rule}`;
  }
  if (first.keyword === 'const') {
    const allowed = errors
      .filter((e) => e.keyword === 'const' && e.instancePath === first.instancePath)
      .map((e) => (e.params as { allowedValue?: unknown } | undefined)?.allowedValue)
      .filter((v) => v !== undefined);
    if (allowed.length > 0)
      return `${where} '${name}' must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return name === ''
    ? `${part} ${first.message ?? 'is invalid'}`
    : `${where} '${name}' ${first.message ?? 'is invalid'}`;
}

export const AlertActionSchema = Type.Object({
  dedup_key: Type.String(),
  receiver: RECEIVER_FIELD,
  kind: Type.Union([Type.Literal('acknowledge'), Type.Literal('silence')]),
  by: Type.String(),
  at: Type.String(),
  until: Nullable(Type.String()),
  note: Nullable(Type.String()),
});
export const AlertLifecycleSchema = Type.Object({
  items: Type.Array(
    Type.Object(
      { dedup_key: Type.String(), host_id: Type.String(), symptom: Type.String(), state: Type.String() },
      { additionalProperties: true },
    ),
  ),
  counts: Type.Record(Type.String(), Type.Number()),
  total: Type.Number(),
});
export const AlertActionRemovedSchema = Type.Object({ removed: Type.Boolean() });
