import { readFileSync, unlinkSync } from "node:fs";
import { chmod, lstat, open, readdir, readFile, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

/** The data folder is taken by another running oncall process. */
export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
}

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock file if it is still ours. Synchronous, so it also runs on `process.exit`. */
  release(): void;
}

interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

/**
 * Takes `<dir>/oncall.lock` for this process: two processes on one data folder would both resume
 * the same escalations and, on PGlite, corrupt each other's files. The file is created exclusively
 * and holds the owner's PID; a lock whose process is gone (a crash, SIGKILL) is stale and taken over.
 *
 * @throws DataDirLockedError naming the folder and the holder's PID.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const file = join(dir, "oncall.lock");
  const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, "wx", 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(me)}\n`);
      } finally {
        await handle.close();
      }
      return {
        file,
        release() {
          try {
            const owner = JSON.parse(readFileSync(file, "utf8")) as Partial<LockOwner>;
            if (owner.pid === me.pid) unlinkSync(file);
          } catch {
            // Already gone or unreadable: nothing of ours to remove.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = await readOwner(file);
    if (owner && isAlive(owner)) {
      throw new DataDirLockedError(
        `data folder ${dir} is in use by another oncall process (pid ${owner.pid}` +
          `${owner.host === me.host ? "" : ` on ${owner.host}`}, since ${owner.startedAt}): ` +
          "stop it, or set ONCALL_DATA_DIR to another folder",
      );
    }
    // Stale (its process is gone) or unreadable (a crash while writing it): take it over.
    await unlink(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }
  throw new DataDirLockedError(
    `data folder ${dir}: could not take ${file} (another process keeps taking it)`,
  );
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(file, "utf8")) as Partial<LockOwner>;
    if (typeof owner.pid !== "number" || !Number.isInteger(owner.pid) || owner.pid <= 0) return undefined;
    return { pid: owner.pid, host: String(owner.host ?? ""), startedAt: String(owner.startedAt ?? "?") };
  } catch {
    return undefined;
  }
}

/** Whether the lock's process still runs. A lock written on another host is trusted as live. */
function isAlive(owner: LockOwner): boolean {
  if (owner.host && owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The data folder holds the database, the admin token and the demo key: only its owner may enter
 * it. PGlite chmods every file it writes to 0666 whatever the umask, so the folder is 0700 (nobody
 * else can reach anything inside) and the group/other bits are also taken off what is in it.
 */
export async function restrictDataDir(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  await stripGroupAndOther(dir);
}

async function stripGroupAndOther(path: string): Promise<void> {
  const stat = await lstat(path);
  if (stat.isSymbolicLink()) return;
  if ((stat.mode & 0o077) !== 0) await chmod(path, stat.mode & 0o700);
  if (!stat.isDirectory()) return;
  for (const entry of await readdir(path)) await stripGroupAndOther(join(path, entry));
}
