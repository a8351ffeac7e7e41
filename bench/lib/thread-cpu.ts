import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time by thread from Linux's /proc, for benchmarks on a shared machine: wall-clock time there
 * depends on what else runs, CPU time per delivered frame does not. Each reading is one process's
 * main thread (tid = pid) and all its other threads (worker threads, V8's helpers, libuv's pool),
 * in milliseconds. Undefined where /proc is not available.
 */
export interface CpuReading {
  mainMs: number;
  otherThreadsMs: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function ticksOf(statPath: string): number {
  const stat = readFileSync(statPath, "utf8");
  // Fields after the command name (which may hold spaces) start at the closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

export function readCpu(pid: number): CpuReading | undefined {
  try {
    let otherTicks = 0;
    let mainTicks = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const ticks = ticksOf(`/proc/${pid}/task/${tid}/stat`);
      if (Number(tid) === pid) mainTicks = ticks;
      else otherTicks += ticks;
    }
    return { mainMs: mainTicks * TICK_MS, otherThreadsMs: otherTicks * TICK_MS };
  } catch {
    return undefined;
  }
}

/** CPU spent between two readings of the same processes (a thread that ended meanwhile is lost). */
export function cpuSince(before: CpuReading | undefined, after: CpuReading | undefined): CpuReading | undefined {
  if (!before || !after) return undefined;
  return {
    mainMs: after.mainMs - before.mainMs,
    otherThreadsMs: Math.max(0, after.otherThreadsMs - before.otherThreadsMs),
  };
}
