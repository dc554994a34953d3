/**
 * SQL for a host filter over rows that carry a receiver (a replica's catalog and alerts): `r/h` is
 * that receiver's host, a bare `h` every receiver's host of that name. Appends its parameters to
 * `params` and returns the condition.
 */
export function hostsWhere(hosts: readonly string[], params: Array<string | number>): string {
  const any: string[] = [];
  for (const host of hosts) {
    const slash = host.indexOf('/');
    if (slash > 0) {
      any.push('(receiver = ? AND host_id = ?)');
      params.push(host.slice(0, slash), host.slice(slash + 1));
    }
    any.push('host_id = ?');
    params.push(host);
  }
  return `(${any.join(' OR ')})`;
}
