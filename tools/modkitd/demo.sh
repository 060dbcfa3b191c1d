#!/usr/bin/env bash
# tools/modkitd/demo.sh [BUILD_DIR]: what `make run` shows.
#
# On a terminal: boots modkitd in the foreground on the bundled config
# (etc/modkitd.conf) with this build's sample modules, and gives you its
# console (type help; shutdown or Ctrl-D to stop).
#
# Otherwise (a script, CI; or MODKIT_DEMO=script): boots modkitd on a config in
# a temporary directory and drives it with the modkit command, showing each
# command and checking its outcome: signed modules (keygen, sign, enforce),
# preload, load by name with dependencies, stat -v, graph, an unsigned module
# refused, an unload refused while in use, a cascade, the log, and an orderly
# shutdown. Exits 0 when everything behaved, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
modkitd=$build/tools/modkitd/modkitd
modules=$build/modules
for f in "$modkitd" "$build/tools/modkit/modkit" "$modules/modkit.hints"; do
  [[ -e $f ]] || { echo "demo: $f is missing: build first (make run does)" >&2; exit 1; }
done
PATH=$build/tools/modkit:$build/tools/modkitd:$PATH  # the transcript shows commands as typed

if [[ -t 0 && ${MODKIT_DEMO:-} != script ]]; then
  echo "Booting modkitd on $src/etc/modkitd.conf with the modules of $modules."
  echo "Type help for the commands. From another shell: $build/tools/modkit/modkit stat -v"
  exec "$modkitd" -c "$src/etc/modkitd.conf" -o "module_path = $modules" --foreground
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/modkit-demo.XXXXXX")
daemon=
cleanup() {
  if [[ -n $daemon ]] && kill -0 "$daemon" 2>/dev/null; then kill "$daemon" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "demo: FAILED: $*" >&2
  exit 1
}

# step EXPECTED_STATUS COMMAND...: print it as typed, run it, check its status.
step() {
  local want=$1
  shift
  echo
  echo "\$ $*"
  local rc=0
  "$@" 2>&1 || rc=$?
  [[ $rc -eq $want ]] || fail "\`$*\` exited $rc, expected $want"
}

# The demo's kernel enforces module signatures: a key pair, and signed copies
# of this build's sample modules with their hints index.
mkdir "$tmp/modules" "$tmp/unsigned"
cp "$modules"/*.ko "$tmp/modules/"
cp "$modules/veto.ko" "$tmp/unsigned/veto.ko"
"$build/tools/modkit/modkit" keygen -o "$tmp/demo.key" || fail "modkit keygen failed"
for ko in "$tmp/modules"/*.ko; do
  "$build/tools/modkit/modkit" sign --key "$tmp/demo.key" "$ko" || fail "modkit sign $ko failed"
done
"$build/tools/modkit/modkit" xref "$tmp/modules" || fail "modkit xref failed"
modules=$tmp/modules

cat >"$tmp/modkitd.conf" <<EOF
# The demo's kernel: the sample modules of this build, signed with demo.key.
module_path = $modules
preload = counter
preload = hello
devfs = $tmp/dev
socket = $tmp/modkitd.sock
signature_policy = enforce
trusted_key = $tmp/demo.key.pub
EOF
export MODKIT_SOCKET=$tmp/modkitd.sock

echo "== modkitd: the hosted modkit kernel, driven by the modkit command =="
echo "config ($tmp/modkitd.conf):"
sed 's/^/    /' "$tmp/modkitd.conf"
"$modkitd" -c "$tmp/modkitd.conf" --foreground 2>"$tmp/console.log" </dev/null &
daemon=$!
for _ in $(seq 100); do
  [[ -S $MODKIT_SOCKET ]] && break
  kill -0 "$daemon" 2>/dev/null || fail "modkitd did not start: $(cat "$tmp/console.log")"
  sleep 0.05
done
[[ -S $MODKIT_SOCKET ]] || fail "modkitd did not create $MODKIT_SOCKET"

echo
echo "# A second kernel on the same socket refuses to start:"
step 1 modkitd -c "$tmp/modkitd.conf"

echo
echo "# The boot preloaded counter and hello:"
step 0 modkit stat

echo
echo "# Module parameters: zero's tunable zero_fill, set at load and while loaded."
step 0 modkit load zero zero_fill=0x41
step 0 modkit params zero
step 1 modkit params zero zero_fill=lots
step 0 modkit params zero zero_fill=66 -v
if mountpoint -q "$tmp/dev"; then
  echo "\$ head -c 8 $tmp/dev/zero"
  [[ $(head -c 8 "$tmp/dev/zero") == BBBBBBBB ]] || fail "$tmp/dev/zero does not read zero_fill"
  echo BBBBBBBB
fi
step 0 modkit unload zero

echo
echo "# chain_top needs chain_mid, which needs chain_base: loading it by name"
echo "# loads them first, through the module path's hints index (like kldload)."
step 0 modkit load chain_top -v
step 0 modkit stat -v
step 0 modkit graph

echo
if mountpoint -q "$tmp/dev"; then
  echo "# devfs is mounted at $tmp/dev. Its ksyms is the symbol image, current after"
  echo "# every load and unload, readable by nm, readelf and gdb:"
  echo "\$ ls -l $tmp/dev"
  ls -l "$tmp/dev" || fail "ls on devfs failed"
  echo "\$ nm $tmp/dev/ksyms | grep chain_"
  nm "$tmp/dev/ksyms" | grep chain_ || fail "nm found no chain_ symbols in $tmp/dev/ksyms"
else
  echo "# devfs is not mounted here (no FUSE; modkit log says why)."
fi

echo
echo "# signature_policy is enforce: a module that is not signed by a trusted key"
echo "# is refused (exit 1) before anything reads it (modkit sign --key KEY signs one)."
step 1 modkit load "$tmp/unsigned/veto.ko"

echo
echo "# chain_base is in use by chain_mid: refused (exit 1), naming the holder."
step 1 modkit unload chain_base
echo
echo "# With --cascade, its users go first:"
step 0 modkit unload chain_base --cascade -v
step 0 modkit stat

echo
echo "# Load the chain again, and shut down: SHUTDOWN reaches dependents first."
step 0 modkit load chain_top
modkit log --follow >"$tmp/follow.log" &
follower=$!
for _ in $(seq 100); do  # connected once it has printed the log so far
  [[ -s $tmp/follow.log ]] && break
  sleep 0.05
done
step 0 modkit shutdown
wait "$follower" || fail "modkit log --follow failed"
rc=0
wait "$daemon" || rc=$?
daemon=
[[ $rc -eq 0 ]] || fail "modkitd exited $rc"
[[ ! -e $MODKIT_SOCKET ]] || fail "the socket is still there"

echo
echo "\$ modkit log --follow   # started before the shutdown, it ends with the kernel; its end:"
sed -n '/^modkitd: shutting down$/,$p' "$tmp/follow.log" >"$tmp/shutdown.log"
cat "$tmp/shutdown.log"

# The order the log must show: every SHUTDOWN before any unload, dependents first.
order=$(grep -E '^shutdown: |\.ko: unloaded$' "$tmp/shutdown.log" | tr '\n' ' ')
want="shutdown: chain_top shutdown: chain_mid shutdown: chain_base shutdown: hello shutdown: counter shutdown: kernel chain_top.ko: unloaded chain_mid.ko: unloaded chain_base.ko: unloaded hello.ko: unloaded counter.ko: unloaded "
[[ $order == "$want" ]] || fail "shutdown order: got [$order], expected [$want]"
echo
echo "\$ modkit stat   # the kernel is gone: exit 3"
rc=0
modkit stat 2>&1 || rc=$?
[[ $rc -eq 3 ]] || fail "modkit stat after the shutdown exited $rc, expected 3"
echo
echo "== demo done: modkitd exited 0 =="
