import { describe, expect, it } from 'vitest';
import { redact } from './transport-url.js';

describe('redact', () => {
  it('masks the password of a URL and keeps the rest as written', () => {
    expect(redact('amqp://app:s3cret@127.0.0.1:5672/vhost')).toBe('amqp://app:***@127.0.0.1:5672/vhost');
    expect(redact('postgres://u:p%40ss@db:5432/app?sslmode=require')).toBe(
      'postgres://u:***@db:5432/app?sslmode=require',
    );
    expect(redact('redis://:onlypassword@cache:6379')).toBe('redis://:***@cache:6379');
  });

  it('masks every password of a server list that is no single URL', () => {
    expect(redact('nats://u:secret@a:4222,nats://v:other@b')).toBe('nats://u:***@a:4222,nats://v:***@b');
  });

  it('returns a URL without a password unchanged', () => {
    for (const url of [
      'sqlite:/var/lib/app.db',
      'redis://cache:6379',
      'amqp://user@host',
      'memory://bus',
      'not a url',
    ]) {
      expect(redact(url)).toBe(url);
    }
  });
});
