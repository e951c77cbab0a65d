import { spawn } from 'node:child_process';

/**
 * Runs `marina args…` (the built CLI, as a child process) and parses the one JSON object it prints on stdout
 * (`marina theory --json`). `runMarina` in ../sweep/pool.ts discards stdout, which is what a sweep wants and
 * not what this needs. Rejects with the child's last stderr lines when it fails or prints no JSON.
 */
export function marinaJson<T>(bin: string, args: readonly string[], signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr = (stderr + String(d)).slice(-4000)));
    child.on('error', (e) => reject(e));
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`marina ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as T);
      } catch (e) {
        reject(new Error(`marina ${args.join(' ')} printed no JSON (${(e as Error).message})`));
      }
    });
  });
}
