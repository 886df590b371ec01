#!/usr/bin/env bash
# Long local fuzzing runs of the libFuzzer targets in tests/fuzz/ (see
# tests/fuzz/README.md). CI runs only the short ones: `ctest --preset fuzz`.
#
#   scripts/fuzz.sh [options] [target...]
#
#   target          base64_key_fuzzer, config_fuzzer, envelope_fuzzer,
#                   message_decrypt_fuzzer, push_request_fuzzer,
#                   user_data_fuzzer; default: all, one after the other
#   -t, --time S    seconds per target (default 600)
#   -j, --jobs N    parallel libFuzzer jobs per target (default: CPU count);
#                   each job logs to build/fuzz/tests/fuzz/runs/<target>/
#   --no-build      do not configure and build the fuzz preset first
#   --max-len N     largest input libFuzzer generates (default: its own,
#                   4096 or the largest corpus file)
#   --merge         after the run, merge the new inputs that add coverage
#                   into the committed corpus tests/fuzz/corpus/<target>/
#                   (review them before committing)
#   --minimize FILE minimize the crash input FILE for the (single) target
#                   and print where the result is
#   -h, --help      this text
#
# New inputs go to the scratch corpus build/fuzz/tests/fuzz/scratch/<target>/
# (kept between runs); crashes to build/fuzz/tests/fuzz/artifacts/<target>/.
# The exit status is non-zero if any target found a crash. To turn a crash
# into a regression test: minimize it (--minimize), copy it into
# tests/fuzz/regressions/<target>/ with a descriptive name, and rebuild:
# `ctest --preset fuzz -R regressions` then runs it on every test run.
#
# Needs clang-14 and libclang-rt-14-dev (scripts/install-deps.sh --test).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${repo}/build/fuzz"
fuzz_dir="${build}/tests/fuzz"
all_targets=(
  base64_key_fuzzer
  config_fuzzer
  envelope_fuzzer
  message_decrypt_fuzzer
  push_request_fuzzer
  user_data_fuzzer
)

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

seconds=600
jobs="$(nproc)"
build_first=1
max_len=""
merge=0
minimize=""
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -t|--time) seconds="$2"; shift 2 ;;
    -j|--jobs) jobs="$2"; shift 2 ;;
    --no-build) build_first=0; shift ;;
    --max-len) max_len="$2"; shift 2 ;;
    --merge) merge=1; shift ;;
    --minimize) minimize="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  if [[ ! " ${all_targets[*]} " == *" ${t} "* ]]; then
    echo "fuzz.sh: unknown target ${t} (one of: ${all_targets[*]})" >&2
    exit 2
  fi
done
if ! [[ "${seconds}" =~ ^[1-9][0-9]*$ && "${jobs}" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: --time and --jobs take positive integers" >&2
  exit 2
fi

if [[ ${build_first} -eq 1 ]]; then
  (cd "${repo}" && cmake --preset fuzz >/dev/null &&
    cmake --build --preset fuzz -j"$(nproc)")
fi

# The read-only corpus directories of a target: committed corpus, generated
# seeds and committed regressions (if any).
read_dirs() {
  local t="$1"
  echo "${repo}/tests/fuzz/corpus/${t}"
  echo "${fuzz_dir}/seeds/${t}"
  [[ -d "${repo}/tests/fuzz/regressions/${t}" ]] &&
    echo "${repo}/tests/fuzz/regressions/${t}"
  return 0
}

common_flags() {
  local t="$1"
  echo "-dict=${repo}/tests/fuzz/dict/${t}.dict"
  echo "-timeout=10"
  echo "-rss_limit_mb=2048"
  echo "-artifact_prefix=${fuzz_dir}/artifacts/${t}/"
  echo "-create_missing_dirs=1"
  echo "-print_final_stats=1"
  [[ -n "${max_len}" ]] && echo "-max_len=${max_len}"
  return 0
}

if [[ -n "${minimize}" ]]; then
  if [[ ${#targets[@]} -ne 1 ]]; then
    echo "fuzz.sh: --minimize needs exactly one target" >&2
    exit 2
  fi
  t="${targets[0]}"
  out="${fuzz_dir}/artifacts/${t}/minimized-$(basename "${minimize}")"
  mkdir -p "$(dirname "${out}")"
  "${fuzz_dir}/${t}" -minimize_crash=1 -runs=100000 \
    -max_total_time="${seconds}" -exact_artifact_path="${out}" \
    "${minimize}" || true
  if [[ ! -s "${out}" ]]; then
    echo "fuzz.sh: ${minimize} does not crash ${t}: nothing to minimize" >&2
    exit 1
  fi
  echo "fuzz.sh: minimized input: ${out} ($(wc -c <"${out}") bytes)"
  echo "fuzz.sh: reproduce with ${fuzz_dir}/${t} ${out}"
  exit 0
fi

failed=()
for t in "${targets[@]}"; do
  run_dir="${fuzz_dir}/runs/${t}"
  scratch="${fuzz_dir}/scratch/${t}"
  mkdir -p "${run_dir}" "${scratch}" "${fuzz_dir}/artifacts/${t}"
  mapfile -t flags < <(common_flags "${t}")
  mapfile -t dirs < <(read_dirs "${t}")
  echo "fuzz.sh: ${t}: ${seconds} s, ${jobs} job(s), logs in ${run_dir}"
  status=0
  if [[ ${jobs} -gt 1 ]]; then
    # libFuzzer's -jobs: independent processes sharing the scratch corpus
    # (each job re-reads it when it starts), each logging to fuzz-<n>.log.
    (cd "${run_dir}" && "${fuzz_dir}/${t}" "${flags[@]}" \
      -max_total_time="${seconds}" -jobs="${jobs}" -workers="${jobs}" \
      "${scratch}" "${dirs[@]}") || status=$?
  else
    (cd "${run_dir}" && "${fuzz_dir}/${t}" "${flags[@]}" \
      -max_total_time="${seconds}" "${scratch}" "${dirs[@]}" \
      2>&1 | tee "${run_dir}/fuzz-0.log") || status=$?
  fi
  grep -h "stat::average_exec_per_sec" "${run_dir}"/fuzz-*.log 2>/dev/null |
    sed "s/^/fuzz.sh: ${t}: /" || true
  if [[ ${status} -ne 0 ]]; then
    failed+=("${t}")
    echo "fuzz.sh: ${t} FAILED (exit ${status}); crash inputs:" >&2
    ls -1 "${fuzz_dir}/artifacts/${t}/" >&2 || true
  fi
  if [[ ${merge} -eq 1 ]]; then
    # Adds to the committed corpus only inputs that bring new coverage.
    "${fuzz_dir}/${t}" -merge=1 "${flags[@]}" \
      "${repo}/tests/fuzz/corpus/${t}" "${scratch}" \
      >"${run_dir}/merge.log" 2>&1 || {
        echo "fuzz.sh: ${t}: merge failed, see ${run_dir}/merge.log" >&2
        failed+=("${t} (merge)")
      }
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: failures: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no crashes in ${targets[*]}"
