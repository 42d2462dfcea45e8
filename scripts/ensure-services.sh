#!/usr/bin/env bash
# Make sure the services the test suite talks to are up: PostgreSQL, Redis and RabbitMQ
# (the Celery executor's two brokers).
# Uses the commands this machine's image documents; does nothing when they already answer.
set -euo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if ! pg_up; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi
if ! redis_up; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if ! rabbit_up; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached
fi
for _ in $(seq 1 60); do
  if pg_up && redis_up && rabbit_up; then exit 0; fi
  sleep 1
done
echo "PostgreSQL, Redis or RabbitMQ did not come up" >&2
exit 1
