import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContractsFile } from '@switchyard/asyncapi';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const config = 'examples/shop/asyncapi.config.json';
const dir = mkdtempSync(join(tmpdir(), 'switchyard-asyncapi-'));
const cli = (args: string[]) => runCli(args, { cwd: root, env: {} });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('switchyard asyncapi', () => {
  it('prints the shop document from the config\'s "app" module: the committed docs/asyncapi/shop.yaml', async () => {
    const { code, stdout, stderr } = await cli(['--config', config, 'asyncapi']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(readFileSync(join(root, 'docs/asyncapi/shop.yaml'), 'utf8'));
  });

  it('writes one service as JSON with --service and --out', async () => {
    const out = join(dir, 'order.json');
    const { code, stderr } = await cli(['--config', config, 'asyncapi', '--service', 'order-service', '--out', out]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/wrote .*order\.json: 3 channels, 3 operations/);
    const document = JSON.parse(readFileSync(out, 'utf8')) as { asyncapi: string; operations: object };
    expect(document.asyncapi).toBe('3.0.0');
    expect(Object.keys(document.operations)).toEqual([
      'order-service.receive.place-order',
      'order-service.send.order.placed',
      'order-service.send.stock.reserve',
    ]);
  });

  it('fails with what to do when no application module is configured', async () => {
    const { code, stderr } = await cli(['asyncapi']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/SY_CONFIGURATION: no application module: pass --app/);
  });
});

describe('switchyard contracts', () => {
  const exported = join(dir, 'contracts.json');

  async function exportShop(): Promise<ContractsFile> {
    const { code } = await cli(['--config', config, 'contracts', 'export', '--out', exported]);
    expect(code).toBe(0);
    return JSON.parse(readFileSync(exported, 'utf8')) as ContractsFile;
  }

  function variant(file: ContractsFile, name: string, change: (schema: Record<string, unknown>) => void): string {
    const copy = structuredClone(file) as { contracts: Record<string, { schema: Record<string, unknown> }> };
    change(copy.contracts[name]?.schema as Record<string, unknown>);
    const path = join(dir, `${name}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(copy));
    return path;
  }

  it('exports every contract of the shop, handled or only sent, as JSON Schema', async () => {
    const file = await exportShop();
    expect(file.format).toBe('switchyard-contracts/1');
    expect(Object.keys(file.contracts)).toEqual(['order.place', 'order.placed', 'stock.reserve']);
    expect(file.contracts['order.placed']).toMatchObject({ kind: 'event', version: 1, schema: { type: 'object' } });
  });

  it('diff: exit 0 for no change and for an added optional field, exit 1 naming a breaking change', async () => {
    const file = await exportShop();
    const same = await cli(['contracts', 'diff', exported, exported]);
    expect([same.code, same.stdout.trim()]).toEqual([0, 'no contract changes']);

    const optional = variant(file, 'order.placed', (schema) => {
      (schema.properties as Record<string, unknown>).coupon = { type: 'string' };
    });
    const compatible = await cli(['contracts', 'diff', exported, optional]);
    expect(compatible.code).toBe(0);
    expect(compatible.stdout).toMatch(/order\.placed\s+field-added-optional\s+compatible/);
    expect(compatible.stdout).toContain('consumers: compatible; producers: compatible');

    const removed = variant(file, 'order.placed', (schema) => {
      delete (schema.properties as Record<string, unknown>).email;
      schema.required = (schema.required as string[]).filter((field) => field !== 'email');
    });
    const breaking = await cli(['contracts', 'diff', exported, removed]);
    expect(breaking.code).toBe(1);
    expect(breaking.stdout).toMatch(
      /order\.placed\s+field-removed\s+breaks consumers\s+required field 'email' was removed/,
    );
    expect(breaking.stdout).toContain('consumers: BREAKING; producers: compatible');

    const json = await cli(['contracts', 'diff', removed, exported, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      breaksConsumers: false,
      breaksProducers: true,
      changes: [{ contract: 'order.placed', path: 'email', rule: 'field-added-required' }],
    });
  });

  it('diff rejects a file that is not a contracts export', async () => {
    const bogus = join(dir, 'bogus.json');
    writeFileSync(bogus, JSON.stringify({ hello: 'world' }));
    const { code, stderr } = await cli(['contracts', 'diff', bogus, bogus]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/is not a contracts file: expected \{ "format": "switchyard-contracts\/1"/);
  });
});

describe('the application module', () => {
  const app = 'packages/cli/test/fixtures/app.ts';

  it('may export services as an array, with sends, contracts and asyncapi info', async () => {
    const out = join(dir, 'fixture.json');
    expect((await cli(['asyncapi', '--app', app, '--out', out])).code).toBe(0);
    const document = JSON.parse(readFileSync(out, 'utf8')) as {
      info: { title: string; version: string };
      servers: Record<string, { protocol: string }>;
      operations: object;
    };
    expect(document.info).toEqual({ title: 'Fixture', version: '9.9.9' });
    expect(document.servers.default?.protocol).toBe('redis');
    expect(Object.keys(document.operations)).toEqual(['auditor.receive.fixture.audit', 'auditor.send.fixture.audited']);
    const exported = await cli(['contracts', 'export', '--app', app]);
    expect(exported.code).toBe(0);
    const file = JSON.parse(exported.stdout) as ContractsFile;
    expect(Object.entries(file.contracts).map(([name, c]) => [name, c.kind, c.version])).toEqual([
      ['fixture.archived', 'event', 1],
      ['fixture.audit', 'command', 1],
      ['fixture.audited', 'event', 2],
    ]);
  });

  it('must export services', async () => {
    const { code, stderr } = await cli(['asyncapi', '--app', 'packages/cli/test/helpers.ts']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/must export `services`: an array of services made with createService/);
  });
});
