import type { DashboardEvent, DashboardState } from '../../protocol/index.js';
import type { DataSource, SourceListener } from './source.js';

/** A data source that replays a fixed state and events once: for screenshots and component tests. */
export function staticSource(state: DashboardState, events: readonly DashboardEvent[] = []): DataSource {
  return {
    start(listener: SourceListener) {
      listener.hello({ type: 'hello', epoch: 'static', seq: 0, state });
      for (const event of events) listener.event(event);
      listener.status({ kind: 'static', since: Date.now() });
      return () => {};
    },
  };
}
