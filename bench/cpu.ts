import { readdirSync, readFileSync } from 'node:fs';

/** utime, stime, cutime, cstime of one process (clock ticks → seconds), from /proc/<pid>/stat. */
function statCpu(pid: number): { own: number; reaped: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields 14-17 of stat (utime, stime, cutime, cstime) are at 11-14 after the command name.
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return { own: (f[11]! + f[12]!) / 100, reaped: (f[13]! + f[14]!) / 100 };
  } catch {
    return undefined;
  }
}

function children(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * CPU seconds used so far by a process and everything under it: its own, its children's that it has
 * reaped (cutime/cstime, e.g. PostgreSQL backends that ended), and each live descendant's the same way.
 * Undefined when the process is not running (or /proc is not there).
 */
export function treeCpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  const top = statCpu(pid);
  if (!top) return undefined;
  return top.own + top.reaped + children(pid).reduce((sum, c) => sum + (treeCpuSeconds(c) ?? 0), 0);
}
