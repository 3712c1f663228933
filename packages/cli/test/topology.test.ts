import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type Workspace, workspace } from './helpers.js';

describe('switchyard topology', () => {
  let ws: Workspace;
  beforeEach(() => {
    ws = workspace();
  });
  afterEach(() => ws.cleanup());

  it('prints transports, services with channels and subscriptions, and the event bindings', async () => {
    const { code, stdout } = await ws.cli(['topology']);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines).toContain(`  default  sqlite:${ws.dbPath}`);
    expect(lines.find((line) => line.startsWith('  notification-service'))).toMatch(
      /^ {2}notification-service\s+default\s+notify-inbox\s+order\.#$/,
    );
    expect(lines.find((line) => line.startsWith('  order-service'))).toMatch(/\(none\)$/);
    expect(lines.find((line) => line.startsWith('  order.*'))).toMatch(
      /→ inventory-service\s+\(channel inventory-service on default\)/,
    );
  });

  it('draws a Mermaid flowchart: transport subgraph, event router, pattern edges, channels to services', async () => {
    const { code, stdout } = await ws.cli(['topology', '--mermaid']);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('flowchart LR');
    expect(lines).toContain(`  subgraph transport__default["default: sqlite:${ws.dbPath}"]`);
    expect(lines).toContain('    events__default{{"events"}}');
    expect(lines).toContain('    channel__default__notify_inbox[("notify-inbox")]');
    expect(lines).toContain('  events__default -- "order.#" --> channel__default__notify_inbox');
    expect(lines).toContain('  events__default -- "order.*" --> channel__default__inventory_service');
    expect(lines).toContain('  channel__default__notify_inbox --> service__notification_service');
    expect(lines.filter((line) => line.trim() === 'end')).toHaveLength(1);
  });

  it('prints the resolved map as JSON, with passwords redacted', async () => {
    const { code, stdout } = await ws.cli(['topology', '--json'], {
      SWITCHYARD_URL: 'amqp://app:secret@127.0.0.1:5672',
    });
    expect(code).toBe(0);
    const view = JSON.parse(stdout);
    expect(view.transports).toEqual({ default: 'amqp://app:***@127.0.0.1:5672' });
    expect(view.services).toContainEqual({
      name: 'notification-service',
      transport: 'default',
      channel: 'notify-inbox',
      subscribes: ['order.#'],
    });
  });

  it('works from SWITCHYARD_URL alone, without a config file', async () => {
    const { code, stdout } = await runCli(['topology'], {
      cwd: '/',
      env: { SWITCHYARD_URL: 'redis://127.0.0.1:6379' },
    });
    expect(code).toBe(0);
    expect(stdout).toContain('  default  redis://127.0.0.1:6379');
    expect(stdout).toContain('(none mapped: every service gets the default transport');
  });
});
