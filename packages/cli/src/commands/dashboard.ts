import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { startDashboard } from '../dashboard/server.js';
import { parsePositive } from '../time.js';

/**
 * `switchyard dashboard [--port 7077] [--host 127.0.0.1] [--token <secret>]`: serve the web
 * dashboard (dead letters of every store the config names; the service map with live channel
 * counts and who sends what; the flow of the last minutes) until SIGINT or SIGTERM, then close
 * the server, the stores and the transports. Prints the URL with the access token, and where
 * the services' OTLP metric exporters should send.
 */
export function registerDashboard(program: Command, context: CommandContext): void {
  program
    .command('dashboard')
    .description('serve a web dashboard of the dead letters, the service map and its channels (until Ctrl-C)')
    .option('--port <n>', 'port to listen on', '7077')
    .option('--host <address>', 'address to bind; other than loopback only with --token', '127.0.0.1')
    .option('--token <secret>', 'access token (default: a random one, printed)')
    .action(async (options: { port: string; host: string; token?: string }, command: Command) => {
      const dashboard = await startDashboard(context.config(command), {
        port: options.port === '0' ? 0 : parsePositive('--port', options.port),
        host: options.host,
        ...(options.token !== undefined ? { token: options.token } : {}),
      });
      for (const status of dashboard.sources.statuses.filter((s) => s.error !== undefined))
        context.err.line(`switchyard: cannot read dead letters of ${status.service ?? status.url}: ${status.error}`);
      context.out.line(`dashboard on ${dashboard.url}`);
      context.out.line(`open ${dashboard.openUrl}`);
      context.out.line(`API: Authorization: Bearer ${dashboard.token}`);
      context.out.line(`metrics: OTLP/HTTP to ${dashboard.url}v1/metrics, same header`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await dashboard.close();
    });
}
