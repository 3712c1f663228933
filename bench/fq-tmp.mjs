import { buildApp } from 'fauxqs';

const app = buildApp({ logger: false });
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });
console.log('up');
process.on('SIGINT', () => process.exit(0));
