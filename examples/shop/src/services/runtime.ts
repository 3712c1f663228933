import {
  type Contract,
  createService,
  describeError,
  type Handler,
  type HandlerOptions,
  type PayloadOf,
  type Service,
} from '@switchyard/core';
import { SqliteDeadLetterStore } from '@switchyard/sqlite';
import { Env, type HandlerInfo, type Report } from '../protocol.js';
import { quietLogger } from '../quiet-logger.js';
import { installTracing } from '../trace.js';

/** Handler options of the shop: every handler has an explicit, stable id. */
export type ShopHandlerOptions = Omit<HandlerOptions, 'distributed' | 'name'> & { readonly name: string };

/** What a service module gets to register its handlers and print its progress. */
export interface ShopRuntime {
  readonly service: Service;
  /** Print one progress line, prefixed with the service's short name by the launcher. */
  log(text: string): void;
  /** Register a distributed command handler. */
  handleCommand<C extends Contract<'command'>>(
    contract: C,
    handler: Handler<PayloadOf<C>>,
    options: ShopHandlerOptions,
  ): void;
  /** Register a distributed event handler for a contract or a routing pattern (`order.*`, `order.#`). */
  handleEvent<C extends Contract<'event'>>(
    target: C | string,
    handler: Handler<PayloadOf<C>>,
    options: ShopHandlerOptions,
  ): void;
}

/**
 * Run one shop service in this process: build it from the launcher's
 * environment (transport URL, dead-letter file), let `setup` register its
 * handlers, start it, and report everything it does to the launcher over IPC.
 * Stops gracefully on SIGTERM (core's signal handling), closes the
 * dead-letter store and exits 0. Outside a forked process the reports are
 * printed as JSON lines, so a service can also be run alone.
 */
export async function runService(name: string, setup: (runtime: ShopRuntime) => void): Promise<void> {
  const url = required(Env.url);
  const send = (message: Report) => (process.send ? process.send(message) : console.log(JSON.stringify(message)));
  if (process.env[Env.trace] === '1') installTracing(name, (spans) => send({ type: 'spans', service: name, spans }));
  const deadLetters = new SqliteDeadLetterStore(required(Env.deadLetters));
  const service = createService({ name, transport: url, deadLetters, logger: quietLogger(name), concurrency: 8 });
  const handlers: HandlerInfo[] = [];
  const report = send;
  const log = (text: string) => report({ type: 'log', service: name, text });

  setup({
    service,
    log,
    handleCommand(contract, handler, options) {
      service.handle(contract, handler, { ...options, distributed: true });
      handlers.push({ id: options.name, pattern: contract.name, kind: 'command' });
    },
    handleEvent(target, handler, options) {
      const pattern = typeof target === 'string' ? target : target.name;
      if (typeof target === 'string')
        service.handle(target, handler as Handler<unknown>, { ...options, distributed: true });
      else service.handle(target, handler, { ...options, distributed: true });
      handlers.push({ id: options.name, pattern, kind: 'event' });
    },
  });
  observe(service, name, report, log);

  // Core stops the service on SIGTERM/SIGINT; this listener then closes the
  // store and exits 0. It stays registered (`on`, not `once`): while a listener
  // of ours is there, core does not re-raise the signal once it has stopped.
  let exiting = false;
  const onSignal = () => {
    if (exiting) return;
    exiting = true;
    void service
      .stop()
      .then(() => deadLetters.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(`[${name}] stop failed: ${describeError(error)}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await service.start();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    console.error(`[${name}] cannot start: ${typeof code === 'string' ? `${code}: ` : ''}${describeError(error)}`);
    process.exit(1);
  }
  report({ type: 'ready', service: name, handlers });
}

function observe(service: Service, name: string, report: (message: Report) => void, log: (text: string) => void): void {
  const lastError = new Map<string, string>();
  service.on('sent', ({ outbound, origin }) => {
    // The ledger accounts for what the application sent; retries and replays re-send those same messages.
    if (origin !== 'send' && origin !== 'outbox') return;
    const headers = outbound.message.headers;
    const destination = outbound.destination;
    report({
      type: 'sent',
      service: name,
      id: outbound.message.id,
      name: headers['ce-type'] ?? 'unknown',
      kind: headers['ce-kind'] ?? 'unknown',
      ...(destination.kind === 'send' ? { target: destination.service } : {}),
    });
  });
  service.on('handled', ({ handler, envelope }) => {
    lastError.delete(`${handler}/${envelope.headers.id}`);
    report({ type: 'handled', service: name, handler, id: envelope.headers.id, name: envelope.headers.name });
  });
  service.on('failed', ({ handler, envelope, error }) => {
    lastError.set(`${handler}/${envelope.headers.id}`, describeError(error));
  });
  service.on('retried', ({ handler, envelope, nextAttempt, delayMs }) => {
    const id = envelope.headers.id;
    const reason = lastError.get(`${handler}/${id}`) ?? 'failed';
    log(`retry ${nextAttempt - 1} for ${orderIdOf(envelope.payload) ?? id} in ${delayMs}ms: ${reason} (${handler})`);
    report({ type: 'retried', service: name, handler, id, nextAttempt, delayMs });
  });
  service.on('deadLettered', ({ record }) => {
    lastError.delete(`${record.handler}/${record.messageId}`);
    const order = orderIdOf(parseBody(record.message.body)) ?? record.messageId;
    log(`dead-lettered ${order} after ${record.attempts} attempt(s): ${record.reason.message}`);
    report({
      type: 'deadLettered',
      service: name,
      ...(record.handler !== undefined ? { handler: record.handler } : {}),
      id: record.messageId,
      recordId: record.id,
      reason: record.reason.message,
    });
  });
}

function orderIdOf(payload: unknown): string | undefined {
  const id = (payload as { orderId?: unknown } | null)?.orderId;
  return typeof id === 'string' ? id : undefined;
}

function parseBody(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
}

function required(variable: string): string {
  const value = process.env[variable];
  if (!value) {
    console.error(`this service is started by the shop launcher (npm start); ${variable} is not set`);
    process.exit(2);
  }
  return value;
}
