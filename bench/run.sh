#!/usr/bin/env bash
# The performance benchmark: builds Release, measures the core against its
# primitive floor, wxcrypto-server against the gRPC echo floor, the cost of
# request metrics, the server's memory under load and DecryptUserData's
# timing leakage (dudect-style Welch t), and writes
#
#   bench/results/<YYYY-MM-DD>.json   every measurement and the machine
#   bench/results/<YYYY-MM-DD>.md     every target (measured, limit, held?)
#                                     and the core table; also printed
#
# Usage: bench/run.sh [--quick] [--priority] [--openssl-dir DIR]
#                     [--boringssl-dir DIR]
#   --quick           shorter runs (about 2 minutes), for trying the script
#                     out; the committed results come from a full run (about
#                     5 minutes after the build).
#   --priority        run the measured processes at nice -20 (needs root), so
#                     that other work on a shared machine (builds, tests)
#                     gets little of their CPUs. (Not SCHED_FIFO: without
#                     time slicing among gRPC's threads it distorts tail
#                     latency.)
#   --openssl-dir,    use these already configured Release build trees
#   --boringssl-dir   instead of the presets' build/openssl and
#                     build/boringssl (e.g. while those are busy).
#
# Not part of the test command: it takes minutes and its numbers depend on
# the machine. Run it by hand on an otherwise idle machine and commit its
# output. Needs: cmake presets openssl and boringssl (scripts/install-deps.sh),
# taskset (util-linux) and python3.
#
# Pinning: the servers (wxcrypto-server, wxcrypto-server-nometrics,
# wxcrypto-echo-server) and core_benchmark run on the last CPU, the load
# generator on CPU 0, so that generator and server never share a core. On
# the 2-core reference machine that is server on CPU 1, loadgen on CPU 0.
# With one CPU they share it, and the results say so.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
priority=0
openssl_dir=build/openssl
boringssl_dir=build/boringssl
while (( $# )); do
  case "$1" in
    --quick) quick=1 ;;
    --priority) priority=1 ;;
    --openssl-dir) openssl_dir=$2; shift ;;
    --boringssl-dir) boringssl_dir=$2; shift ;;
    *) echo "usage: bench/run.sh [--quick] [--priority] [--openssl-dir DIR] [--boringssl-dir DIR]" >&2
       exit 2 ;;
  esac
  shift
done

# Durations (seconds) and repetitions.
if (( quick )); then
  core_reps=1 core_min_time=0.1 sat_rounds=1 run_seconds=4 half_rounds=1
  rss_seconds=10 timing_runs=1
else
  core_reps=3 core_min_time=0.2 sat_rounds=3 run_seconds=8 half_rounds=2
  rss_seconds=40 timing_runs=5
fi
warmup_seconds=1
message_bytes=1024

ncpu=$(nproc)
server_cpu=$((ncpu - 1))
load_cpu=0
# pinned CPU COMMAND...: runs COMMAND on CPU (at nice -20 with --priority).
# One simple command, so that `pinned ... &` gives the PID of COMMAND
# itself (nice and taskset exec it).
pinned() {
  local cpu=$1
  shift
  if (( priority )); then
    nice -n -20 taskset -c "${cpu}" "$@"
  else
    taskset -c "${cpu}" "$@"
  fi
}
if (( priority )) && ! nice -n -20 true 2>/dev/null; then
  echo "--priority needs permission to raise priority (root)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/wxcrypto-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "${pid}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "${work}"
}
trap cleanup EXIT

log() { echo "=== $*" >&2; }

# --- Build -----------------------------------------------------------------
# build PRESET DIR TARGET...: configures DIR with PRESET if DIR is the
# preset's own tree (otherwise it must already be configured), then builds.
build() {
  local preset=$1 dir=$2
  shift 2
  if [[ "${dir}" == "build/${preset}" ]]; then
    cmake --preset "${preset}" >/dev/null
  fi
  if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "${dir}/CMakeCache.txt"; then
    echo "${dir} is not a configured Release build tree" >&2
    exit 1
  fi
  cmake --build "${dir}" --target "$@" >&2
}
log "build (Release): ${openssl_dir}, ${boringssl_dir}"
build openssl "${openssl_dir}" core_benchmark metrics_benchmark wxcrypto-server \
  wxcrypto-server-nometrics wxcrypto-echo-server wxcrypto-loadgen
build openssl "${openssl_dir}" wxcrypto-user-data-timing
build boringssl "${boringssl_dir}" core_benchmark

bin=${openssl_dir}
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Core: every operation next to its primitive floor ----------------------
for provider in openssl boringssl; do
  dir_var="${provider}_dir"
  log "core_benchmark (${provider}) on CPU ${server_cpu}"
  pinned "${server_cpu}" "${!dir_var}/bench/core/core_benchmark" \
    --benchmark_filter='^BM_(DecryptPush|BuildReply|DecryptUserData|VerifyRawData|Floor)' \
    --benchmark_repetitions="${core_reps}" \
    --benchmark_min_time="${core_min_time}" \
    --benchmark_enable_random_interleaving=true \
    --benchmark_display_aggregates_only=true \
    --benchmark_out="${work}/core_${provider}.json" \
    --benchmark_out_format=json >/dev/null
done
log "metrics_benchmark on CPU ${server_cpu}"
pinned "${server_cpu}" "${bin}/bench/metrics/metrics_benchmark" \
  --benchmark_repetitions="${core_reps}" --benchmark_min_time="${core_min_time}" \
  --benchmark_display_aggregates_only=true \
  --benchmark_out="${work}/metrics.json" --benchmark_out_format=json >/dev/null

# --- Servers ----------------------------------------------------------------
# start_server NAME COMMAND...: starts COMMAND pinned to the server CPU,
# waits for its "serving" log line and sets ${NAME}_pid and ${NAME}_port.
start_server() {
  local name=$1
  shift
  # Not through the function: a function run in the background is a
  # subshell, and $! would be its PID instead of the server's.
  local prefix=(taskset -c "${server_cpu}")
  if (( priority )); then prefix=(nice -n -20 "${prefix[@]}"); fi
  "${prefix[@]}" "$@" 2>"${work}/${name}.log" &
  local pid=$!
  pids+=("${pid}")
  local port=""
  for _ in $(seq 100); do
    port=$(grep -o '"grpc_port":[0-9]*' "${work}/${name}.log" 2>/dev/null |
           head -1 | cut -d: -f2 || true)
    if [[ -n "${port}" ]]; then break; fi
    if ! kill -0 "${pid}" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [[ -z "${port}" ]]; then
    echo "${name} did not start:" >&2
    cat "${work}/${name}.log" >&2
    exit 1
  fi
  printf -v "${name}_pid" '%s' "${pid}"
  printf -v "${name}_port" '%s' "${port}"
}

log "start servers on CPU ${server_cpu} (embedded demo config)"
start_server server "${bin}/server/wxcrypto-server" --listen=127.0.0.1:0 --drain-seconds=0 \
  --metrics-listen=127.0.0.1:0
start_server nometrics "${bin}/bench/loadgen/wxcrypto-server-nometrics" --drain-seconds=0 \
  --listen=127.0.0.1:0 --metrics-listen=127.0.0.1:0
start_server echo "${bin}/bench/loadgen/wxcrypto-echo-server" \
  --listen=127.0.0.1:0

# cpu_seconds PID: user + system CPU time of the process so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

# load LABEL NAME RPC RATE SECONDS: one loadgen run against server NAME;
# appends its JSON line, with the label and the server's CPU use, to
# load.jsonl.
load() {
  local label=$1 name=$2 rpc=$3 rate=$4 seconds=$5
  local pid_var="${name}_pid" port_var="${name}_port"
  local pid=${!pid_var} port=${!port_var}
  local before after line
  before=$(cpu_seconds "${pid}")
  line=$(pinned "${load_cpu}" "${bin}/bench/loadgen/wxcrypto-loadgen" \
    --addr="127.0.0.1:${port}" --rpc="${rpc}" --message-bytes="${message_bytes}" \
    --rate="${rate}" --duration-seconds="${seconds}" \
    --warmup-seconds="${warmup_seconds}")
  after=$(cpu_seconds "${pid}")
  local busy
  busy=$(awk -v a="${after}" -v b="${before}" -v s="$((seconds + warmup_seconds))" \
    'BEGIN { printf "%.3f", (a - b) / s }')
  echo "{\"label\":\"${label}\",\"server\":\"${name}\",\"server_cpu_busy\":${busy},\"result\":${line}}" \
    >>"${work}/load.jsonl"
  log "${label} ${name}: $(echo "${line}" | grep -o '"rps":[0-9.]*'), server CPU ${busy}, $(echo "${line}" | grep -o '"loadgen_cpu_busy":[0-9.]*')"
}

# --- Target 2 and 3: saturation (closed loop) -------------------------------
# Rounds rotate the order so that drift on a shared machine spreads evenly.
log "saturation: DecryptPush ${message_bytes} B XML vs echo vs metrics compiled out"
orders=("echo server nometrics" "server nometrics echo" "nometrics echo server")
for ((round = 0; round < sat_rounds; round++)); do
  for name in ${orders[$((round % 3))]}; do
    rpc=decrypt_push_xml
    if [[ "${name}" == echo ]]; then rpc=echo; fi
    load saturation "${name}" "${rpc}" 0 "${run_seconds}"
  done
done

# --- Target 2: latency at half of saturation (open loop) --------------------
half_rate=$(grep '"label":"saturation","server":"server"' "${work}/load.jsonl" |
  grep -o '"rps":[0-9.]*' | cut -d: -f2 | sort -n |
  awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%d", m / 2 }')
log "half saturation: ${half_rate} calls/s, open loop"
for ((round = 0; round < half_rounds; round++)); do
  load half_saturation echo echo "${half_rate}" "${run_seconds}"
  load half_saturation server decrypt_push_xml "${half_rate}" "${run_seconds}"
done

# --- Target 4: RSS of wxcrypto-server under sustained load ------------------
log "sustained load: ${rss_seconds} s saturating wxcrypto-server, sampling VmRSS"
rss_file="${work}/rss.tsv"
(
  start=$(date +%s.%N)
  while kill -0 "${server_pid}" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/${server_pid}/status")
    now=$(date +%s.%N)
    echo "$(awk -v n="${now}" -v s="${start}" 'BEGIN { printf "%.2f", n - s }') ${rss}" >>"${rss_file}"
    sleep 1
  done
) &
sampler=$!
pids+=("${sampler}")
load sustained server decrypt_push_xml 0 "${rss_seconds}"
kill "${sampler}" 2>/dev/null || true
hwm_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/${server_pid}/status")

# --- DecryptUserData timing leakage (bench/timing) ---------------------------
# Several runs, one JSON line each: report.py judges the median |t| of
# each pair over them (bench/NOTES.md, "Timing": in some spells of a shared
# machine even AES-NI alone is distinguishable on data of different
# content, so one run cannot tell the code's leak from the machine's).
log "DecryptUserData timing (dudect-style), ${timing_runs} run(s) on CPU ${server_cpu}"
timing_json=$(
  for ((run = 0; run < timing_runs; ++run)); do
    pinned "${server_cpu}" \
      "${openssl_dir}/bench/timing/wxcrypto-user-data-timing" | tail -1
  done | python3 -c 'import json, sys
print(json.dumps([json.loads(line) for line in sys.stdin if line.strip()]))'
)

loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Report -----------------------------------------------------------------
day=$(date +%F)
mkdir -p bench/results
python3 bench/report.py \
  --work "${work}" \
  --date "${day}" \
  --quick "${quick}" --priority "${priority}" \
  --server-cpu "${server_cpu}" --load-cpu "${load_cpu}" --cpus "${ncpu}" \
  --message-bytes "${message_bytes}" \
  --loadavg-start "${loadavg_start}" --loadavg-end "${loadavg_end}" \
  --hwm-kib "${hwm_kib}" \
  --timing "${timing_json}" \
  --out-json "bench/results/${day}.json" \
  --out-md "bench/results/${day}.md"
cat "bench/results/${day}.md"
