import { connect } from 'node:net';
import { TcpProxy } from '@switchyard/testing';
import type { ISocketFactory } from 'kafkajs';
import type { MockCluster } from './cluster.js';

/**
 * A TcpProxy in front of each broker of a mock cluster, and the kafkajs
 * `socketFactory` that sends every connection through them. The mock
 * advertises its brokers' own ports in metadata, and kafkajs connects to what
 * metadata says, so the factory maps each broker port to its proxy.
 */
export interface ProxiedCluster {
  readonly socketFactory: ISocketFactory;
  /** Connections open through the proxies now. */
  open(): number;
  /** Cut every connection; new ones are still accepted. */
  cut(): void;
  /** Cut every connection and refuse new ones until {@link restore}. */
  refuse(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function proxyCluster(cluster: MockCluster | undefined): Promise<ProxiedCluster> {
  const byPort = new Map<number, TcpProxy>();
  for (const broker of cluster?.brokers ?? []) {
    const port = Number(broker.slice(broker.lastIndexOf(':') + 1));
    byPort.set(port, await TcpProxy.start({ host: '127.0.0.1', port }));
  }
  const proxies = [...byPort.values()];
  return {
    socketFactory: ({ host, port, onConnect }) => {
      const proxy = byPort.get(port);
      const socket = connect({ host: proxy ? '127.0.0.1' : host, port: proxy?.port ?? port }, onConnect);
      socket.setKeepAlive(true, 1_000);
      return socket;
    },
    open: () => proxies.reduce((sum, proxy) => sum + proxy.open, 0),
    cut: () => {
      for (const proxy of proxies) proxy.cut();
    },
    refuse: async () => void (await Promise.all(proxies.map((proxy) => proxy.refuse()))),
    restore: async () => void (await Promise.all(proxies.map((proxy) => proxy.restore()))),
    close: async () => void (await Promise.all(proxies.map((proxy) => proxy.close()))),
  };
}
