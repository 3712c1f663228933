import { describe, expect, it } from 'vitest';
import { queueName, topicName } from './names.js';

const VALID_QUEUE = /^[A-Za-z0-9_-]{1,80}$/;

describe('queueName', () => {
  it('keeps a valid name as is', () => {
    expect(queueName('app-', 'orders', false)).toBe('app-orders');
    expect(queueName('', 'orders', true)).toBe('orders.fifo');
  });

  it('sanitizes and hashes names SQS would refuse, so distinct channels never collide', () => {
    const dotted = queueName('', 'order.placed', false);
    const dashed = queueName('', 'order-placed', false);
    expect(dotted).toMatch(VALID_QUEUE);
    expect(dotted).not.toBe(dashed);
  });

  it('truncates long names to 80 characters including .fifo', () => {
    const long = 'x'.repeat(200);
    expect(queueName('', long, false)).toMatch(VALID_QUEUE);
    const fifo = queueName('', long, true);
    expect(fifo.length).toBe(80);
    expect(fifo.endsWith('.fifo')).toBe(true);
    expect(queueName('', long, false)).not.toBe(queueName('', `${long}y`, false));
  });
});

describe('topicName', () => {
  it('adds .fifo once in FIFO mode', () => {
    expect(topicName('events', true)).toBe('events.fifo');
    expect(topicName('events.fifo', true)).toBe('events.fifo');
    expect(topicName('events', false)).toBe('events');
  });
});
