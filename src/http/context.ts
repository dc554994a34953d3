import type { WsHub } from '../bus/ws-hub.js';
import type { Dashboard } from '../dashboard.js';
import type { PhaseMixStats } from '../phasemix/service.js';
import type { PhaseMix } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import type { Metrics } from './metrics.js';

/** Source of the dataset phase mix (the phase-mix service, or nothing before it runs). */
export interface PhaseMixSource {
  current(host?: string): PhaseMix | null;
  stats(): PhaseMixStats;
}

/** What the HTTP routes read from; built by the server, fakeable in tests. */
export interface AppContext {
  dashboard: Dashboard;
  hub: WsHub;
  logger: Logger;
  dataRoot: string;
  /** Bearer token for POST /api/phase; null disables the endpoint (503). */
  phaseToken: string | null;
  phaseMix: PhaseMixSource | null;
  /** The Prometheus registry `/metrics` serves; routes and services feed its histograms. */
  metrics: Metrics;
}
