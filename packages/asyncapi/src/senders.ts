import type { Contract, Service } from '@switchyard/core';

/** A message a service sends: a command to `to` (default: the service among the inputs that handles it) or an event. */
export interface SendDeclaration {
  readonly contract: Contract;
  readonly to?: string;
}

/** One declared send, resolved: the contract, and for a command the service it goes to (undefined when none is known). */
export interface ResolvedSend {
  readonly contract: Contract;
  readonly to: string | undefined;
}

/**
 * The sends `service` declares in `sends` (the `sends` option of `toAsyncApi`, an application
 * module's `sends` export), each command's target resolved: its declared `to`, else the service
 * among `services` with a distributed handler of its contract. Events have no target. Pure.
 */
export function resolveSends(
  service: string,
  sends: Readonly<Record<string, ReadonlyArray<Contract | SendDeclaration>>> | undefined,
  services: readonly Service[],
): ResolvedSend[] {
  return (sends?.[service] ?? []).map((entry) => {
    const declaration: SendDeclaration = 'contract' in entry ? entry : { contract: entry };
    const { contract } = declaration;
    if (contract.kind === 'event') return { contract, to: undefined };
    const to =
      declaration.to ??
      services.find((s) => s.handlers().some((h) => h.distributed && h.contract?.name === contract.name))?.name;
    return { contract, to };
  });
}
