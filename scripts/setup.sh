#!/usr/bin/env bash
# Installs everything WEFT needs on a Debian 12 machine, idempotently: Debian packages, Bun (from the npm
# registry, so a machine with only node/npm can start), and the npm dependencies pinned in bun.lock.
# Each step checks first and does nothing when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf 'setup: %s\n' "$*" >&2; }

# --- Debian packages ----------------------------------------------------------------------------------
# scripts/debian-packages.txt says which package each role needs and why; vm/build reads the same list.
source scripts/lib/debian-packages.sh
mapfile -t apt_packages < <(debian_packages run build test)
# node/npm may come from elsewhere (nvm, nodesource); only ask apt for them when there is none at all.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=(); for p in "${apt_packages[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  apt_packages=("${filtered[@]}")
fi
install_debian_packages "${apt_packages[@]}"

# --- Bun ----------------------------------------------------------------------------------------------
bun_version=$(node -p 'require("./package.json").devDependencies.bun')
bun="$root/node_modules/.bin/bun"
if ! [[ -x $bun ]] || [[ $("$bun" --version 2>/dev/null) != "$bun_version" ]]; then
  boot="$root/.cache/bun-bootstrap"
  boot_bun="$boot/node_modules/bun/bin/bun.exe"
  if ! [[ -x $boot_bun ]] || [[ $("$boot_bun" --version 2>/dev/null) != "$bun_version" ]]; then
    say "bootstrapping Bun $bun_version from the npm registry"
    mkdir -p "$boot"
    # A package.json of its own keeps npm from walking up into the project and installing everything.
    echo '{"private": true}' >"$boot/package.json"
    (cd "$boot" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error "bun@$bun_version" >/dev/null)
    # Older npm runs the package's postinstall, newer npm skips it; the binary must work either way.
    "$boot_bun" --version >/dev/null 2>&1 || (cd "$boot/node_modules/bun" && node install.js >/dev/null)
  fi
  bun="$boot_bun"
fi

# --- npm dependencies (bun.lock) ----------------------------------------------------------------------
stamp="$root/node_modules/.weft-installed"
lock_sum=$(sha256sum bun.lock package.json services/*/package.json patches/* | sha256sum | cut -d' ' -f1)
if ! [[ -f $stamp ]] || [[ $(cat "$stamp") != "$lock_sum" ]] || ! [[ -x $root/node_modules/.bin/bun ]]; then
  say "installing npm dependencies from bun.lock"
  "$bun" install --frozen-lockfile >/dev/null
  echo "$lock_sum" >"$stamp"
fi

# --- demo apps: components built with jco (QuickJS), packages signed with the demo key ------------------
# apps/build.ts skips an app whose sources are unchanged and whose package still verifies.
"$root/node_modules/.bin/bun" apps/build.ts

# --- native: libwasmtime.so (Wasmtime C API) -----------------------------------------------------------
# WEFT_WASMTIME_LIB points at an existing library instead. Otherwise cargo builds native/wasmtime once; the
# target directory lives in the user's cache (native/wasmtime/target links to it), so a fresh clone — CI's —
# reuses the build, and a stamp of the crate's sources decides when to rebuild.
if [[ -n ${WEFT_WASMTIME_LIB:-} ]]; then
  [[ -f $WEFT_WASMTIME_LIB ]] || { say "WEFT_WASMTIME_LIB=$WEFT_WASMTIME_LIB does not exist"; exit 1; }
else
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/weft"
  mkdir -p "$cache/cargo-target"
  [[ -e native/wasmtime/target ]] || ln -s "$cache/cargo-target" native/wasmtime/target
  if ! command -v cargo >/dev/null; then
    say "cargo is missing: install Rust with rustup (https://rustup.rs), then run this again"
    exit 1
  fi
  wasmtime_sum=$(cat native/wasmtime/Cargo.toml native/wasmtime/Cargo.lock native/wasmtime/src/*.rs | sha256sum | cut -d' ' -f1)
  wasmtime_stamp=native/wasmtime/target/.weft-built
  if ! [[ -f native/wasmtime/target/release/libwasmtime.so ]] || [[ $(cat "$wasmtime_stamp" 2>/dev/null) != "$wasmtime_sum" ]]; then
    say "building libwasmtime.so (Wasmtime C API; the first build takes 10-20 minutes on 2 cores)"
    cargo build --release --locked --quiet --manifest-path native/wasmtime/Cargo.toml
    echo "$wasmtime_sum" >"$wasmtime_stamp"
  fi
fi

# --- native: libweft-guest-memory.so (the runtime's memory creator for guests' linear memories) ----------
guest_memory=native/guest-memory/target
guest_memory_sum=$(sha256sum native/guest-memory/guest-memory.c | cut -d' ' -f1)
if ! [[ -f $guest_memory/libweft-guest-memory.so ]] || [[ $(cat "$guest_memory/.weft-built" 2>/dev/null) != "$guest_memory_sum" ]]; then
  say "building libweft-guest-memory.so"
  mkdir -p "$guest_memory"
  cc -O2 -g0 -Wall -Wextra -Werror -shared -fPIC -o "$guest_memory/libweft-guest-memory.so" native/guest-memory/guest-memory.c
  echo "$guest_memory_sum" >"$guest_memory/.weft-built"
fi

# --- Rust's wasm32-wasip2 target: tests run a component built by rustc, not only by jco -------------------
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
  say "adding Rust's wasm32-wasip2 target"
  rustup target add wasm32-wasip2 >/dev/null
fi

# --- native: libweft-compositor.so (wlroots 0.15 compositor core) ------------------------------------------
# WEFT_COMPOSITOR_LIB points at an existing library instead. Otherwise meson builds native/compositor into
# native/compositor/target (git-ignored), reused while a stamp of its sources is unchanged.
if [[ -n ${WEFT_COMPOSITOR_LIB:-} ]]; then
  [[ -f $WEFT_COMPOSITOR_LIB ]] || { say "WEFT_COMPOSITOR_LIB=$WEFT_COMPOSITOR_LIB does not exist"; exit 1; }
else
  compositor_build=native/compositor/target
  # Every source (library, tools) and the Wayland protocol XML in protocol/ it generates code from.
  compositor_sum=$(find native/compositor -path native/compositor/target -prune -o -type f -print | LC_ALL=C sort |
    cat - <(ls protocol/*.xml 2>/dev/null) | xargs cat | sha256sum | cut -d' ' -f1)
  compositor_stamp=$compositor_build/.weft-built
  if ! [[ -f $compositor_build/libweft-compositor.so ]] || [[ $(cat "$compositor_stamp" 2>/dev/null) != "$compositor_sum" ]]; then
    say "building libweft-compositor.so (meson + ninja)"
    [[ -f $compositor_build/build.ninja ]] || meson setup "$compositor_build" native/compositor >/dev/null
    ninja -C "$compositor_build" >/dev/null
    echo "$compositor_sum" >"$compositor_stamp"
  fi
fi
