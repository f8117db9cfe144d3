#!/usr/bin/env bash
# Make sure what the tests need is installed and running: Redis, Mosquitto, Chromium + driver.
# Installs Debian packages only when something is missing, and starts a server only when
# nothing answers on its port yet (a server that already runs is left alone).
set -euo pipefail

REDIS_PORT="${FLOORBOARD_TEST_REDIS_PORT:-6379}"
MQTT_PORT="${FLOORBOARD_TEST_MQTT_PORT:-1883}"
RUN_DIR="${TMPDIR:-/tmp}/floorboard-test-services"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "need root to run: $*" >&2; return 1
  fi
}

missing=()
answers "$REDIS_PORT" || command -v redis-server >/dev/null || missing+=(redis-server)
answers "$MQTT_PORT" || command -v mosquitto >/dev/null || missing+=(mosquitto)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$RUN_DIR"
if ! answers "$REDIS_PORT"; then
  echo "starting redis-server on 127.0.0.1:$REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$RUN_DIR" --logfile "$RUN_DIR/redis.log"
fi
if ! answers "$MQTT_PORT"; then
  echo "starting mosquitto on 127.0.0.1:$MQTT_PORT"
  conf="$RUN_DIR/mosquitto.conf"
  {
    echo "listener $MQTT_PORT 127.0.0.1"
    echo "allow_anonymous true"
    echo "persistence false"
    echo "pid_file $RUN_DIR/mosquitto.pid"
    # Run as root, Mosquitto 2 exits at once unless told which user it may stay.
    [ "$(id -u)" = 0 ] && echo "user root"
  } >"$conf"
  mosquitto -d -c "$conf"
fi

for _ in $(seq 1 50); do
  answers "$REDIS_PORT" && answers "$MQTT_PORT" && exit 0
  sleep 0.1
done
answers "$REDIS_PORT" || echo "Redis is still not answering on $REDIS_PORT" >&2
answers "$MQTT_PORT" || echo "Mosquitto is still not answering on $MQTT_PORT" >&2
exit 1
