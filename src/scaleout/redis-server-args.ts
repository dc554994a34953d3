/**
 * The command line of a `redis-server` the project starts itself (the demo cluster, the tests):
 * loopback only, AOF with `appendfsync always` (the design's durability: an acknowledged append
 * survives a kill), no RDB snapshots, in the foreground, logging to stdout.
 */
export function redisServerArgs(port: number, dir: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--save',
    '',
    '--daemonize',
    'no',
    '--logfile',
    '',
  ];
}
