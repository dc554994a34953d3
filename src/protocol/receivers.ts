/**
 * Scale-out (several receivers in one view, `serve --redis`): every host-keyed map of the state
 * uses `<receiver>/<host_id>` as the key when the event names its receiver, so two receivers with
 * a host of the same name are two hosts; a single box (no receiver) keys by the host id as before.
 */
export function hostKey(receiver: string | undefined, hostId: string): string {
  return receiver === undefined ? hostId : `${receiver}/${hostId}`;
}

/** The receiver and host of a state key (`<receiver>/<host>`); a single box's key is all host. */
export function splitHostKey(key: string, scaleOut: boolean): { receiver?: string; host_id: string } {
  const slash = scaleOut ? key.indexOf('/') : -1;
  return slash <= 0 ? { host_id: key } : { receiver: key.slice(0, slash), host_id: key.slice(slash + 1) };
}
