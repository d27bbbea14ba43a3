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

/** CPU seconds a process has used, user and kernel apart (utime, stime of /proc/PID/stat); zeros when gone. */
export function cpuTimes(pid: number): { user: number; system: number } {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return { user: Number(f[11]) / 100, system: Number(f[12]) / 100 };
  } catch {
    return { user: 0, system: 0 };
  }
}

/**
 * CPU seconds (user, kernel) of the PostgreSQL processes that work for database `db`: its
 * backends (their title names the database) and the server's own processes (postmaster,
 * checkpointer, WAL writer…, which serve every database), not other databases' backends, so
 * someone else's tests on the shared server do not enter the figure. By pid, so a snapshot can
 * be subtracted from a later one.
 */
export function postgresCpuByPid(db: string): Map<number, { user: number; system: number }> {
  const out = new Map<number, { user: number; system: number }>();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "postgres") continue;
      const title = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      // A backend's title: "postgres: user database host(port) state"; the server's own have no "(".
      if (title.includes("(") && !title.includes(` ${db} `)) continue;
      out.set(Number(pid), cpuTimes(Number(pid)));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** The machine's busy CPU seconds so far (all cores: user + nice + system + irq + softirq + steal of /proc/stat). */
export function machineBusySeconds(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}
