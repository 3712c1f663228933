import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createService, DEFAULT_TRANSPORT_URL, defineCommand } from '@switchyard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const Greet = defineCommand('greeting.send', z.object({ to: z.string() }));

describe('createService without a transport', () => {
  const home = process.cwd();
  let dir = '';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-default-'));
    process.chdir(dir);
  });

  afterEach(() => {
    process.chdir(home);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs on the embedded SQLite default, ./.switchyard/switchyard.db, creating its directory', async () => {
    expect(DEFAULT_TRANSPORT_URL).toBe('sqlite:./.switchyard/switchyard.db');
    const greeter = createService({ name: 'greeter', handleSignals: false });
    const greeted: string[] = [];
    greeter.handle(Greet, (command) => void greeted.push(command.to), { distributed: true });
    const caller = createService({ name: 'caller', handleSignals: false });
    expect(greeter.serviceMap.describe().transports).toEqual({ default: DEFAULT_TRANSPORT_URL });
    try {
      await greeter.start();
      await caller.start();
      expect(existsSync(join(dir, '.switchyard', 'switchyard.db'))).toBe(true);
      await caller.distributedBus.sendCommand('greeter', Greet, { to: 'ada' });
      await expect.poll(() => greeted, { timeout: 5_000 }).toEqual(['ada']);
      expect((await greeter.serviceMap.route('greeter')).transport.name).toBe('sqlite');
    } finally {
      await caller.stop();
      await greeter.stop();
    }
  });
});
