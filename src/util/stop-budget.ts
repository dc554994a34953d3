/**
 * One budget for a process's stop (SIGTERM, SIGINT), shared by everything that waits during it.
 *
 * The waits used to run one after another, each with its own 5 s bound, under a 5 s deadline: a
 * WebSocket client that did not read held the stop 5 s on its own, a download being sent 5 s
 * more after it, and a stop during a cold load waited for the explorer's slow reads and the
 * catalog writer behind those — every such SIGTERM ended past the deadline with exit 1 (a review
 * measured 5.1 s, up to 10 s, and 7.6–8.9 s). Now they run side by side and each gives peers at
 * most PEER_GRACE_MS, which leaves the rest of the deadline for closing files.
 */

/** A stop ends within this, or the process gives up waiting and exits 1 (`runUntilSignal`, `agent`). */
export const STOP_DEADLINE_MS = 5_000;

/**
 * What a peer gets while the server stops: a WebSocket client to answer the close frame, a
 * download to finish, an explorer read to be answered. Past it the connection is cut (the read
 * refused). Well under STOP_DEADLINE_MS, since these run beside the ingest's stop.
 */
export const PEER_GRACE_MS = 3_000;
