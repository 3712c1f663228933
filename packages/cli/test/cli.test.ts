import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.js';
import { type Workspace, workspace } from './helpers.js';

describe('switchyard CLI', () => {
  let ws: Workspace;
  beforeEach(() => {
    ws = workspace();
  });
  afterEach(() => ws.cleanup());

  it('prints help for the program and every command with exit code 0', async () => {
    const top = await ws.cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Usage: switchyard [options] [command]');
    for (const command of ['dlq', 'topology', 'doctor']) expect(top.stdout).toContain(command);
    for (const args of [
      ['dlq', '--help'],
      ['dlq', 'list', '--help'],
      ['dlq', 'show', '--help'],
      ['dlq', 'replay', '--help'],
      ['dlq', 'delete', '--help'],
      ['topology', '--help'],
      ['doctor', '--help'],
    ]) {
      const { code, stdout } = await ws.cli(args);
      expect(code, args.join(' ')).toBe(0);
      expect(stdout, args.join(' ')).toContain('Usage: switchyard');
    }
    expect((await ws.cli(['dlq', 'list', '--help'])).stdout).toContain('--since <time>');
  });

  it('exits 2 on wrong usage', async () => {
    const unknown = await ws.cli(['dlq', 'lst']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'lst'");
    const missing = await ws.cli(['dlq', 'show']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'id'");
  });

  it('reports a broken config file in one line', async () => {
    writeFileSync(join(ws.dir, 'broken.json'), '{"transports": {"default": 42}}');
    const { code, stderr } = await ws.cli(['topology', '-c', 'broken.json']);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^switchyard: SY_CONFIGURATION: config file '.*broken\.json': "transports" must map names to URLs/,
    );
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    writeFileSync(join(ws.dir, 'typo.json'), '{"transport": {}}');
    expect((await ws.cli(['topology', '-c', 'typo.json'])).stderr).toContain("unknown key 'transport'");
  });

  it('resolves relative sqlite paths against the config file, and lets SWITCHYARD_URL override the default transport', () => {
    const fromFile = loadConfig({ cwd: '/', env: {}, stdout: () => {}, stderr: () => {} }, ws.configPath);
    expect(fromFile.transports.default).toBe(`sqlite:${ws.dbPath}`);
    expect(fromFile.deadLetters).toBe(`sqlite:${ws.dbPath}`);
    const fromEnv = loadConfig(
      { cwd: '/srv', env: { SWITCHYARD_URL: 'sqlite:./app.db?leaseMs=500' }, stdout: () => {}, stderr: () => {} },
      undefined,
    );
    expect(fromEnv.transports).toEqual({ default: 'sqlite:/srv/app.db?leaseMs=500' });
    expect(fromEnv.deadLetters).toBe('sqlite:/srv/app.db?leaseMs=500');
    expect(fromEnv.source).toBe('SWITCHYARD_URL');
  });
});
