#!/usr/bin/env bash
# What a user pays on a clean build: a crate with 100 `#[ipc::named_semaphore]`
# against one with 100 `thiserror` derives (+ libc, which ipc needs anyway).
# Clean builds, interleaved, median of N (default 3). Run from the project root.
set -euo pipefail
n=${1:-3}
root=$(pwd)
work=$root/target/build-cost
rm -rf "$work"; mkdir -p "$work"

make_crate() { # name deps body-generator
  mkdir -p "$work/$1/src"
  cat > "$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
$2
[workspace]
TOML
  "$3" > "$work/$1/src/lib.rs"
}
gen_ipc() {
  for i in $(seq 1 100); do
    printf '#[ipc::named_semaphore(name = "/bc.%d", initial = 1, mode = 0o600)]\npub struct Lock%d;\n' "$i" "$i"
  done
}
gen_thiserror() {
  echo 'pub use libc as _libc;'
  for i in $(seq 1 100); do
    printf '#[derive(Debug, thiserror::Error)]\n#[error("error %d: {0}")]\npub struct Error%d(pub String);\n' "$i" "$i"
  done
}
make_crate with-ipc "ipc = { package = \"named-ipc\", path = \"$root/ipc\" }" gen_ipc
make_crate with-thiserror 'thiserror = "2"
libc = "0.2"' gen_thiserror

# Fetch everything first, so only compilation is timed.
for c in with-ipc with-thiserror; do
  (cd "$work/$c" && cargo fetch -q)
done
time_build() {
  local dir=$work/$1
  rm -rf "$dir/target"
  local t0 t1
  t0=$(date +%s.%N)
  (cd "$dir" && cargo build -q --offline)
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}
declare -a a b
for _ in $(seq 1 "$n"); do
  a+=("$(time_build with-ipc)")
  b+=("$(time_build with-thiserror)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
echo "100 #[named_semaphore]:        ${a[*]} s (median $ma)"
echo "100 thiserror derives + libc:  ${b[*]} s (median $mb)"
echo "ratio ipc/thiserror: $(echo "scale=2; $ma / $mb" | bc)"
