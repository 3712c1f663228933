#!/usr/bin/env bash
# Start every broker the test suites need that is not already answering on
# 127.0.0.1. Idempotent: a running broker is left alone. The SQS emulator
# (fauxqs) and the Kafka mock cluster are started by their own test setups.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do
    port_open "$port" && return 0
    sleep 1
  done
  echo "start-brokers: $name did not open 127.0.0.1:$port within 60 s" >&2
  return 1
}

status=0
if ! port_open 5672; then
  echo "start-brokers: starting RabbitMQ"
  rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_port RabbitMQ 5672 || status=1
fi
if port_open 5672; then
  # The broker accepts TCP before it finished booting; wait until it answers.
  timeout 60 rabbitmqctl await_startup >/dev/null 2>&1 || true
fi
if ! port_open 6379; then
  echo "start-brokers: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port Redis 6379 || status=1
fi
if ! port_open 5432 && [ -d /etc/postgresql ]; then
  echo "start-brokers: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  wait_port PostgreSQL 5432 || status=1
fi
if ! port_open 4222 && [ -x /usr/sbin/nats-server ]; then
  echo "start-brokers: starting NATS"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_port NATS 4222 || status=1
fi
exit $status
