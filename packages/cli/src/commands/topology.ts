import type { ServiceRoute } from '@switchyard/core';
import { redact } from '@switchyard/core';
import type { Command } from 'commander';
import type { CliConfig } from '../config.js';
import type { CommandContext } from '../context.js';
import { table } from '../format.js';

/** One service of the map, resolved: its transport and its channel. */
export interface TopologyService {
  readonly name: string;
  readonly transport: string;
  readonly channel: string;
  /** Event patterns it subscribes to; undefined when the map does not say. */
  readonly subscribes: readonly string[] | undefined;
}

/** The service map, resolved as the runtime resolves it. */
export interface TopologyView {
  readonly transports: Readonly<Record<string, string>>;
  readonly defaultTransport: string | undefined;
  readonly services: readonly TopologyService[];
}

/** `switchyard topology`: the service map as text, JSON or a Mermaid diagram. */
export function registerTopology(program: Command, context: CommandContext): void {
  program
    .command('topology')
    .description('show the service map: transports, services, their channels and event subscriptions')
    .option('--mermaid', 'print a Mermaid flowchart instead of text')
    .option('--json', 'print the resolved map as JSON')
    .action((options: { mermaid?: boolean; json?: boolean }, command: Command) => {
      const view = topologyOf(context.config(command));
      const lines = options.json ? [JSON.stringify(view, null, 2)] : options.mermaid ? mermaid(view) : text(view);
      for (const line of lines) context.out.line(line);
    });
}

/** Resolve the configured map: unmapped transports default to `default` (or the first), channels to the service name. */
export function topologyOf(config: CliConfig): TopologyView {
  const names = Object.keys(config.transports);
  const defaultTransport = 'default' in config.transports ? 'default' : names[0];
  const transports: Record<string, string> = {};
  for (const [name, url] of Object.entries(config.transports)) transports[name] = redact(url);
  const services = Object.entries(config.services).map(([name, route]: [string, ServiceRoute]) => ({
    name,
    transport: route.transport ?? defaultTransport ?? '(none)',
    channel: route.channel ?? name,
    subscribes: route.subscribes,
  }));
  return { transports, defaultTransport, services };
}

/** The text view. */
export function text(view: TopologyView): string[] {
  const lines: string[] = ['Transports'];
  const transportRows = Object.entries(view.transports).map(([name, url]) => [
    `  ${name}${name === view.defaultTransport && name !== 'default' ? ' (default)' : ''}`,
    url,
  ]);
  if (transportRows.length === 0)
    lines.push('  (none: add "transports" to switchyard.config.json or set SWITCHYARD_URL)');
  else lines.push(...table(['  NAME', 'URL'], transportRows));
  lines.push('', 'Services');
  if (view.services.length === 0) {
    lines.push('  (none mapped: every service gets the default transport and a channel named after it)');
  } else {
    const rows = view.services.map((s) => [`  ${s.name}`, s.transport, s.channel, subscriptionText(s.subscribes)]);
    lines.push(...table(['  SERVICE', 'TRANSPORT', 'CHANNEL', 'SUBSCRIBES'], rows));
  }
  const bindings = view.services.flatMap((s) =>
    (s.subscribes ?? []).map((pattern) => [`  ${pattern}`, `→ ${s.name}`, `(channel ${s.channel} on ${s.transport})`]),
  );
  lines.push('', 'Event bindings');
  if (bindings.length === 0) lines.push('  (none declared)');
  else lines.push(...table(['  PATTERN', 'SERVICE', 'WHERE'], bindings).slice(1));
  lines.push(
    '',
    'Commands to a service go to its channel; events go to every channel whose patterns match (* one segment, # any).',
  );
  return lines;
}

/** A Mermaid flowchart: one subgraph per transport holding its event router and channels, then the services. */
export function mermaid(view: TopologyView): string[] {
  const lines = ['flowchart LR'];
  for (const [name, url] of Object.entries(view.transports)) {
    lines.push(`  subgraph ${id('transport', name)}["${label(`${name}: ${url}`)}"]`);
    lines.push(`    ${id('events', name)}{{"events"}}`);
    for (const service of view.services.filter((s) => s.transport === name)) {
      lines.push(`    ${id('channel', name, service.channel)}[("${label(service.channel)}")]`);
    }
    lines.push('  end');
  }
  for (const service of view.services) {
    lines.push(`  ${id('service', service.name)}["${label(service.name)}"]`);
  }
  for (const service of view.services) {
    const channel = id('channel', service.transport, service.channel);
    for (const pattern of service.subscribes ?? [])
      lines.push(`  ${id('events', service.transport)} -- "${label(pattern)}" --> ${channel}`);
    lines.push(`  ${channel} --> ${id('service', service.name)}`);
  }
  return lines;
}

function subscriptionText(subscribes: readonly string[] | undefined): string {
  if (subscribes === undefined) return '(not declared)';
  return subscribes.length === 0 ? '(none)' : subscribes.join(', ');
}

/** A Mermaid node id: letters, digits and underscores only. */
function id(...parts: string[]): string {
  return parts.map((part) => part.replace(/[^A-Za-z0-9]/g, '_')).join('__');
}

/** Text inside a quoted Mermaid label. */
function label(value: string): string {
  return value.replace(/"/g, '#quot;');
}
