#!/usr/bin/env bash
# Makes this machine ready for `make test` (and the docker backend of `make bench`), idempotently:
# Debian packages (the Docker engine, mmdebstrap, qemu-user for arm64, Chromium for the report check,
# wrk for the load generator experiment, openssh for the remote-engine test, iproute2 for the generator engines' namespaces), a running Docker engine (on its socket, and on
# tcp://127.0.0.1:2375 for the remote-engine test), qemu's binfmt handler for arm64, and the base
# images the docker backend builds on where no registry is reachable.
#
#   scripts/setup-machine.sh           everything (root on Debian)
#   scripts/setup-machine.sh --check   only say what is missing (exit 2 with one line naming the command)
#
# What it cannot do (not root, not Debian) it names in one line and exits 2. Go, Rust (cargo), a
# JDK 21+ and Maven are expected on the machine already; `harness env` says which are found.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
check_only=${1:-}
say() { echo "setup: $*" >&2; }

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
[ -e /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static binfmt-support)
command -v chromium >/dev/null || missing+=(chromium)
command -v wrk >/dev/null || missing+=(wrk)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || missing+=(openssh-server openssh-client)
command -v ip >/dev/null || missing+=(iproute2)  # the generator engines' network namespaces and veth pairs
command -v nsenter >/dev/null || missing+=(util-linux)
for tool in go cargo mvn; do
  command -v "$tool" >/dev/null || { say "$tool not found: install Go, Rust (rustup) and Maven first (see README, Requirements)"; exit 2; }
done

root=false; [ "$(id -u)" = 0 ] && root=true
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$check_only" = --check ] || ! $root || ! command -v apt-get >/dev/null; then
    say "missing ${missing[*]}: run  sudo scripts/setup-machine.sh  (or apt-get install -y ${missing[*]})"
    exit 2
  fi
  echo "== installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$check_only" = --check ] || ! $root; then
    say "no Docker engine answers: run  sudo scripts/setup-machine.sh  (or start dockerd)"
    exit 2
  fi
  echo "== starting the Docker engine"
  (dockerd -H unix:///var/run/docker.sock -H tcp://127.0.0.1:2375 >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { say "dockerd did not start: see /var/log/dockerd.log"; exit 2; }
fi

if ! grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
  if [ "$check_only" = --check ] || ! $root; then
    say "arm64 emulation is off: run  sudo scripts/setup-machine.sh  (or update-binfmts --enable qemu-aarch64)"
    exit 2
  fi
  mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64 || true
fi

[ "$check_only" = --check ] && { echo "setup: ready"; exit 0; }

echo "== base images (kept when present): amd64 toolchains and runtimes, arm64 runtimes"
PY=.venv/bin/python
"$PY" -m harness images bootstrap --arch amd64
"$PY" -m harness images bootstrap --arch arm64 --runtimes go,rust,java
echo "setup: ready"
