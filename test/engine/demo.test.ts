/**
 * `make demo` as CI and a person run it: `DEMO_ONCE=1 npx tsx scripts/demo.ts` in a child process, without
 * a terminal. It must finish on its own with exit 0, having shown both environments, the promote actions
 * it gave and the Release Succeeded, and leave no scratch directory behind.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function runDemo(timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = execFile('npx', ['--no-install', 'tsx', 'scripts/demo.ts'], { cwd: ROOT, timeout: timeoutMs, killSignal: 'SIGTERM', env: { ...process.env, DEMO_ONCE: '1' }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolvePromise({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin?.end();
  });
}

describe('make demo', () => {
  it('with DEMO_ONCE=1 runs the quick start to Succeeded, promoting prod and its canary, with a local agent serving a script host, and exits 0', async () => {
    const { code, output } = await runDemo(150_000);
    expect(code, output).toBe(0);
    // Not a terminal: no colours, each change printed once.
    expect(output).not.toContain('\x1b[');
    expect(output).toMatch(/✔ operator started \(.*history in pglite:memory/);
    expect(output).toContain('→ prod waits for a promote action (promotion: manual); the demo runs: kubectl annotate release shop-1-1-0 -n shop shipway.dev/action=promote shipway.dev/actor=demo --overwrite');
    expect(output).toContain('→ prod waits for a promote action to continue after canary');
    expect(output).toMatch(/^ {2}◐ prod {2}Verifying {2}step canary \(1\/2\) · waiting for verify window until \S+ for web-prod$/m);
    expect(output).toMatch(/^Release shop\/shop-1-1-0 {2}1\.1\.0 {2}✔ Succeeded {2}4\/4 targets ██████████$/m);
    expect(output).toMatch(/^ {2}✔ pre {3}Succeeded$/m);
    expect(output).toMatch(/^ {2}✔ prod {2}Succeeded$/m);
    for (const target of ['web-pre', 'web-prod', 'web-prod-2', 'web-prod-3']) {
      expect(output).toMatch(new RegExp(`^ {6}✔ ${target} +Succeeded {2}1\\.0\\.0 → 1\\.1\\.0 {2}██████████ {2}done$`, 'm'));
      expect(output).toMatch(new RegExp(`^${target} +registry\\.local/shop/web:1\\.1\\.0 +\\d$`, 'm'));
    }
    expect(output).toMatch(/History \(pglite:memory\): 4 deployments, 8 stage runs, 2 audited actions\./);
    // The second kind of target: a script host served by a local agent the demo starts from its credential Secret.
    expect(output).toMatch(/✔ local agent host-pre started from Secret default\/shipway-agent-host-pre, dialing 127\.0\.0\.1:\d+ over QUIC/);
    expect(output).toContain('→ worker-1-1-0 (worker on the script host host-pre, through its agent): Succeeded');
    expect(output).toMatch(/^host-pre +script +Online +1\.1\.0$/m);
    expect(output).toContain("Release shop/worker-1-1-0 Succeeded: the agent ran the worker's install script on host-pre; VERSION there reads 1.1.0.");
    const scratch = /log in (\S+)\/operator\.log/.exec(output)?.[1];
    expect(scratch).toBeDefined();
    expect(existsSync(scratch!)).toBe(false);
  }, 160_000);
});
