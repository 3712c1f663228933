#!/usr/bin/env bash
# Builds the librdkafka mock-cluster launcher into <repo>/.kafka-mock/kafka-mock
# (git-ignored). Needs gcc and Debian's librdkafka-dev:
#   apt-get install -y gcc librdkafka-dev
# Rebuilds only when launcher.c is newer than the binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${KAFKA_MOCK_OUT:-$root/.kafka-mock}"
bin="$out/kafka-mock"
mkdir -p "$out"
if [[ -x "$bin" && "$bin" -nt "$here/launcher.c" ]]; then
  echo "$bin"
  exit 0
fi
if [[ ! -f /usr/include/librdkafka/rdkafka_mock.h ]]; then
  echo "kafka-mock: librdkafka/rdkafka_mock.h not found; run: apt-get install -y librdkafka-dev" >&2
  exit 2
fi
if ! command -v gcc >/dev/null 2>&1; then
  echo "kafka-mock: gcc not found; run: apt-get install -y gcc librdkafka-dev" >&2
  exit 2
fi
# Parallel test files may build at once: compile to a private name, then rename atomically.
gcc -O2 -Wall -Wextra -o "$bin.$$.tmp" "$here/launcher.c" -lrdkafka
mv -f "$bin.$$.tmp" "$bin"
echo "$bin"
