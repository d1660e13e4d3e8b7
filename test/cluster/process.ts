import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import type { ComponentSpec, HealthCheck } from './layout.ts';

export interface Running {
  name: string;
  pid: number;
  command: string;
  logFile: string;
  /** Present only in the process that started it; a detached plane read back from its state file has none. */
  child?: ChildProcess;
}

/**
 * Starts one component with stdout and stderr appended to `<logDir>/<name>.log`.
 * `detached` puts it in its own session so it outlives this process (cluster:up); otherwise it shares our
 * process group, so a Ctrl-C in the terminal reaches it too, and the watchdog catches every other way we die.
 */
export function startProcess(spec: ComponentSpec, logDir: string, detached: boolean): Running {
  const logFile = join(logDir, `${spec.name}.log`);
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, { stdio: ['ignore', fd, fd], detached });
    if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
    if (detached) child.unref();
    return { name: spec.name, pid: child.pid, command: spec.command, logFile, child };
  } finally {
    closeSync(fd);
  }
}

export function logTail(file: string, lines = 30): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` still runs `command`: a PID read back from a state file may have been reused by now. */
export function runs(pid: number, command: string): boolean {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === command;
  } catch {
    return false;
  }
}

function probe(h: HealthCheck, ca: Buffer | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const onRes = (res: { statusCode?: number; resume: () => void }): void => {
      res.resume();
      resolve(res.statusCode === 200);
    };
    const req = h.url.startsWith('https:')
      ? // Component health ports serve self-signed certificates; only the apiserver's is checked against our CA.
        httpsGet(h.url, { ca: h.verifyWithClusterCA ? ca : undefined, rejectUnauthorized: h.verifyWithClusterCA, timeout: 2000 }, onRes)
      : httpGet(h.url, { timeout: 2000 }, onRes);
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** Polls a component's health endpoint until it answers 200; fails early, with its log, if the process died. */
export async function waitHealthy(r: Running, h: HealthCheck, ca: Buffer | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (r.child !== undefined ? r.child.exitCode !== null || r.child.signalCode !== null : !isAlive(r.pid)) {
      throw new Error(`${r.name} exited during start-up; last lines of ${r.logFile}:\n${logTail(r.logFile)}`);
    }
    if (await probe(h, ca)) return;
    if (Date.now() > deadline) {
      throw new Error(`${r.name} not healthy at ${h.url} after ${timeoutMs} ms; last lines of ${r.logFile}:\n${logTail(r.logFile)}`);
    }
    await new Promise((res) => setTimeout(res, 150));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Never signals a reused PID. */
export async function stopProcess(r: Running, graceMs = 10_000): Promise<void> {
  const alive = (): boolean => (r.child !== undefined ? r.child.exitCode === null && r.child.signalCode === null : runs(r.pid, r.command));
  if (!alive()) return;
  try {
    process.kill(r.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await sleep(50);
  if (alive()) {
    try {
      process.kill(r.pid, 'SIGKILL');
    } catch {
      return;
    }
    while (alive()) await sleep(20);
  }
}

/** Kills at once, synchronously: for process 'exit' handlers, where nothing asynchronous runs any more. */
export function killNow(r: Running): void {
  if (r.child !== undefined ? r.child.exitCode !== null || r.child.signalCode !== null : !runs(r.pid, r.command)) return;
  try {
    process.kill(r.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
