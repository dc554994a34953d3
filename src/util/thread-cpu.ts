import fs from 'node:fs';

/**
 * CPU seconds (user + system) of the calling thread (`thread-self`) or of the whole process
 * (`self`, every thread's), from /proc (Linux); NaN where /proc is not there. For the traces that
 * say which thread spent what (`CIS490_BOOT_TRACE`, `CIS490_IDLE_TRACE`) and for the catalog
 * writer's count of spare cores (`SpareCores`).
 */
export function threadCpuSeconds(of: 'thread-self' | 'self' = 'thread-self'): number {
  try {
    const st = fs.readFileSync(`/proc/${of}/stat`, 'latin1');
    // Fields after the command name, which sits in parentheses and may hold spaces.
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
