/**
 * @module procfs
 * What the benchmarks read about a process from /proc (Linux): resident memory, open file
 * descriptors, CPU time. Each returns 0 when the process is gone.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Resident set size in KiB (VmRSS of /proc/PID/status). */
export function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Open file descriptors (entries of /proc/PID/fd: files, sockets, pipes, epoll, timers). */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used. */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

/** CPU seconds of every PostgreSQL process on the machine (the server all tests share). */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres") total += cpuSeconds(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return total;
}
