#!/usr/bin/env python3
"""Turns the raw measurements of bench/run.sh into results JSON and Markdown.

Reads, from --work: core_openssl.json and core_boringssl.json (Google
Benchmark), metrics.json (metrics_benchmark), load.jsonl (one line per
loadgen run, labelled by run.sh) and rss.tsv (seconds, VmRSS KiB). Writes
--out-json with every measurement and the machine, and --out-md with the
table of the four targets of the performance issue and the core table.

Statistics: core times are the median over repetitions of Google Benchmark's
CPU time per iteration (single-threaded, pinned; CPU time is less disturbed
than wall time by other processes); loadgen figures are medians over the
rounds of run.sh.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess

OPERATIONS = [
    # (benchmark, floor, name in the table)
    ("DecryptPushXml", "FloorDecryptPush", "DecryptPush XML"),
    ("DecryptPushJson", "FloorDecryptPush", "DecryptPush JSON"),
    ("BuildReply", "FloorBuildReply", "BuildEncryptedReply"),
    ("DecryptUserData", "FloorDecryptUserData", "DecryptUserData"),
    ("VerifyRawData", "FloorVerifyRawData", "VerifyRawData"),
]
SIZES = [300, 1024, 4096]

CORE_LIMIT = 2.0
THROUGHPUT_LIMIT = 0.85
P99_LIMIT = 1.5
METRICS_LIMIT = 0.03
TIMING_LIMIT = 4.5
RSS_LIMIT_MIB = 64.0


def median(values):
    return statistics.median(values) if values else float("nan")


def core_times(path):
    """Returns {benchmark name: median CPU ns} and the run's context."""
    with open(path) as f:
        data = json.load(f)
    samples = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6}[b.get("time_unit", "ns")]
        samples.setdefault(b["run_name"], []).append(b["cpu_time"] * scale)
    return {name: median(v) for name, v in samples.items()}, data["context"]


def core_table(times):
    rows = []
    for bench, floor, name in OPERATIONS:
        for size in SIZES:
            op = times.get(f"BM_{bench}/{size}")
            fl = times.get(f"BM_{floor}/{size}")
            if op is None or fl is None:
                continue
            rows.append({"operation": name, "message_bytes": size,
                         "op_ns": round(op, 1), "floor_ns": round(fl, 1),
                         "ratio": round(op / fl, 3)})
    return rows


def machine():
    info = {"cpus": os.cpu_count(), "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total_kib"] = int(f.readline().split()[1])
    except OSError:
        pass
    for key, cmd in [("compiler", ["c++", "--version"]),
                     ("commit", ["git", "rev-parse", "HEAD"])]:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            info[key] = out.stdout.splitlines()[0].strip()
        except (OSError, subprocess.CalledProcessError, IndexError):
            pass
    try:
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True,
                               text=True, check=True).stdout.strip()
        info["worktree_dirty"] = bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def fmt_us(ns):
    return f"{ns / 1000:.2f} µs"


def summarize_timing(runs):
    """Median, min and max of each pair's max |t| over timing runs (dicts of
    pair name -> {"max_abs_t": ...}); other keys are ignored."""
    values = {}
    for run in runs:
        for pair, value in run.items():
            if isinstance(value, dict) and "max_abs_t" in value:
                values.setdefault(pair, []).append(value["max_abs_t"])
    return {pair: {"median": statistics.median(ts), "min": min(ts),
                   "max": max(ts), "runs": len(ts)}
            for pair, ts in values.items()}


def yes_no(held):
    return "yes" if held else "**no**"


def main():
    parser = argparse.ArgumentParser()
    for flag in ["--work", "--date", "--out-json", "--out-md", "--loadavg-start",
                 "--loadavg-end", "--timing"]:
        parser.add_argument(flag, required=True)
    for flag in ["--quick", "--priority", "--server-cpu", "--load-cpu", "--cpus", "--message-bytes",
                 "--hwm-kib"]:
        parser.add_argument(flag, type=int, required=True)
    args = parser.parse_args()

    # Core.
    core = {}
    contexts = {}
    for provider in ["openssl", "boringssl"]:
        times, context = core_times(os.path.join(args.work, f"core_{provider}.json"))
        core[provider] = core_table(times)
        contexts[provider] = {k: context.get(k) for k in
                              ["date", "host_name", "num_cpus", "mhz_per_cpu",
                               "library_build_type", "crypto_provider"]}
    metrics_times, _ = core_times(os.path.join(args.work, "metrics.json"))

    # Load.
    runs = []
    with open(os.path.join(args.work, "load.jsonl")) as f:
        runs = [json.loads(line) for line in f if line.strip()]

    def select(label, server):
        return [r for r in runs if r["label"] == label and r["server"] == server]

    sat = {name: select("saturation", name) for name in ["echo", "server", "nometrics"]}
    sat_rps = {name: median([r["result"]["rps"] for r in v]) for name, v in sat.items()}
    # Which side saturated: a server CPU near 1.0 means the server did.
    sat_busy = {name: {"server": median([r["server_cpu_busy"] for r in v]),
                       "loadgen": median([r["result"].get("loadgen_cpu_busy", float("nan"))
                                          for r in v])}
                for name, v in sat.items()}
    half = {name: select("half_saturation", name) for name in ["echo", "server"]}
    half_p99 = {name: median([r["result"]["p99_us"] for r in v]) for name, v in half.items()}
    errors = sum(r["result"]["errors"] for r in runs)

    # RSS.
    samples = []
    with open(os.path.join(args.work, "rss.tsv")) as f:
        for line in f:
            t, kib = line.split()
            samples.append((float(t), int(kib)))
    sustained = select("sustained", "server")[0]["result"]
    rss_max_mib = max(k for _, k in samples) / 1024 if samples else float("nan")
    settled = [k for t, k in samples if t >= 10] or [k for _, k in samples]
    rss_growth_mib = (settled[-1] - settled[0]) / 1024 if settled else float("nan")

    # Targets.
    worst = {}
    for provider, rows in core.items():
        worst[provider] = max(rows, key=lambda r: r["ratio"])
    throughput_ratio = sat_rps["server"] / sat_rps["echo"]
    p99_ratio = half_p99["server"] / half_p99["echo"]
    metrics_cost = 1 - sat_rps["server"] / sat_rps["nometrics"]
    per_request_ns = (metrics_times.get("BM_RecordRequestOk", float("nan")) +
                      metrics_times.get("BM_TimeHandler", float("nan")))
    metrics_cost_micro = per_request_ns * 1e-9 * sat_rps["server"]

    targets = [
        {"target": "1. core op ≤ 2× primitive floor (worst op and size, OpenSSL 3)",
         "measured": f"{worst['openssl']['ratio']:.2f}× ({worst['openssl']['operation']}, "
                     f"{worst['openssl']['message_bytes']} B)",
         "limit": "≤ 2.00×", "held": worst["openssl"]["ratio"] <= CORE_LIMIT},
        {"target": "1. core op ≤ 2× primitive floor (worst op and size, BoringSSL)",
         "measured": f"{worst['boringssl']['ratio']:.2f}× ({worst['boringssl']['operation']}, "
                     f"{worst['boringssl']['message_bytes']} B)",
         "limit": "≤ 2.00×", "held": worst["boringssl"]["ratio"] <= CORE_LIMIT},
        {"target": f"2. saturated throughput, DecryptPush {args.message_bytes} B XML / echo",
         "measured": f"{throughput_ratio:.2f}× ({sat_rps['server']:.0f} / "
                     f"{sat_rps['echo']:.0f} calls/s; server CPU busy "
                     f"{sat_busy['server']['server']:.2f} / {sat_busy['echo']['server']:.2f}, "
                     f"generator {sat_busy['server']['loadgen']:.2f} / "
                     f"{sat_busy['echo']['loadgen']:.2f})",
         "limit": "≥ 0.85×", "held": throughput_ratio >= THROUGHPUT_LIMIT},
        {"target": "2. p99 at half saturation / echo p99 at the same rate",
         "measured": f"{p99_ratio:.2f}× ({half_p99['server']:.0f} / {half_p99['echo']:.0f} µs "
                     f"at {half['server'][0]['result']['rate']:.0f} calls/s)",
         "limit": "≤ 1.50×", "held": p99_ratio <= P99_LIMIT},
        {"target": "3. throughput cost of request metrics (vs compiled out)",
         "measured": f"{metrics_cost * 100:+.1f}% ({sat_rps['server']:.0f} vs "
                     f"{sat_rps['nometrics']:.0f} calls/s); microbenchmark: "
                     f"{per_request_ns:.0f} ns/request = {metrics_cost_micro * 100:.2f}%",
         "limit": "< 3%", "held": metrics_cost < METRICS_LIMIT},
        {"target": "4. RSS under sustained load",
         "measured": f"{rss_max_mib:.1f} MiB max over {len(samples)} samples "
                     f"({sustained['requests']} requests)",
         "limit": "< 64 MiB", "held": rss_max_mib < RSS_LIMIT_MIB},
        {"target": "4. RSS growth after warm-up (from 10 s to the end)",
         "measured": f"{rss_growth_mib:+.2f} MiB",
         "limit": "none per request", "held": rss_growth_mib < 1.0},
    ]
    # Issue target for the DecryptUserData timing test (bench/timing): every
    # pair of classes it compares must be indistinguishable, |t| < 4.5,
    # judged on the median over the runs (one JSON line each).
    timing_runs = json.loads(args.timing)
    if isinstance(timing_runs, dict):
        timing_runs = [timing_runs]
    timing = {"runs": timing_runs,
              "pairs": summarize_timing(timing_runs),
              "diagnostics": summarize_timing(
                  [run.get("diagnostics", {}) for run in timing_runs])}
    measurements = timing_runs[0].get("measurements", "?") if timing_runs else "?"
    for pair, value in timing["pairs"].items():
        targets.append({
            "target": f"DecryptUserData timing, {pair.replace('_', ' ')} (Welch |t|)",
            "measured": f"{value['median']:.2f} median of {value['runs']} runs "
                        f"(range {value['min']:.2f}–{value['max']:.2f}; "
                        f"{measurements} measurements each)",
            "limit": f"< {TIMING_LIMIT}", "held": value["median"] < TIMING_LIMIT})

    result = {
        "date": args.date,
        "quick": bool(args.quick),
        "priority": bool(args.priority),
        "machine": machine(),
        "pinning": {"server_cpu": args.server_cpu, "loadgen_cpu": args.load_cpu,
                    "cpus": args.cpus, "shared": args.server_cpu == args.load_cpu},
        "load_average": {"start": args.loadavg_start, "end": args.loadavg_end},
        "core": core,
        "core_context": contexts,
        "metrics_benchmark_ns": metrics_times,
        "load_runs": runs,
        "load_summary": {"saturation_rps_median": sat_rps,
                         "saturation_cpu_busy_median": sat_busy,
                         "half_saturation_p99_us_median": half_p99,
                         "non_ok_statuses": errors},
        "rss": {"samples_s_kib": samples, "max_mib": rss_max_mib,
                "growth_after_10s_mib": rss_growth_mib,
                "vm_hwm_kib": args.hwm_kib},
        "timing": timing,
        "targets": [dict(t, held=bool(t["held"])) for t in targets],
    }
    with open(args.out_json, "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
        f.write("\n")

    m = result["machine"]
    lines = [
        f"Measured {args.date}{' (--quick)' if args.quick else ''} on "
        f"{m.get('cpus')} × {m.get('cpu_model', 'unknown CPU')}, "
        f"{m.get('compiler', '')}, Release; server and core_benchmark on CPU "
        f"{args.server_cpu}, load generator on CPU {args.load_cpu}"
        f"{' (shared!)' if args.server_cpu == args.load_cpu else ''}"
        f"{', both at nice -20 (--priority)' if args.priority else ''}. "
        f"Load average {args.loadavg_start} before, {args.loadavg_end} after. "
        f"Non-OK statuses in all load runs: {errors}.",
        "",
        "| target | measured | limit | held? |",
        "| --- | --- | --- | --- |",
    ]
    for t in targets:
        lines.append(f"| {t['target']} | {t['measured']} | {t['limit']} | {yes_no(t['held'])} |")
    # References for the timing rows (not targets): the method's noise floor,
    # the outcome's own path and AES-NI decryption alone on data of
    # different content, as median (range) over the same runs.
    references = [f"{name.replace('_', ' ')} {value['median']:.2f} "
                  f"({value['min']:.2f}–{value['max']:.2f})"
                  for name, value in timing["diagnostics"].items()]
    if references:
        lines += ["", "Timing references (Welch |t|, not targets): " +
                  "; ".join(references) + "."]
    lines += [
        "",
        "Core operations, median CPU time per call over "
        f"{'1 repetition' if args.quick else '3 repetitions'}; floor = the same bytes through "
        "bare SHA-1, base64 decode or encode and AES-CBC:",
        "",
        "| operation | message | OpenSSL 3 | floor | ratio | BoringSSL | floor | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    boring = {(r["operation"], r["message_bytes"]): r for r in core["boringssl"]}
    for r in core["openssl"]:
        b = boring.get((r["operation"], r["message_bytes"]))
        cells = [r["operation"], f"{r['message_bytes']} B", fmt_us(r["op_ns"]),
                 fmt_us(r["floor_ns"]), f"{r['ratio']:.2f}×"]
        cells += ([fmt_us(b["op_ns"]), fmt_us(b["floor_ns"]), f"{b['ratio']:.2f}×"]
                  if b else ["", "", ""])
        lines.append("| " + " | ".join(cells) + " |")
    with open(args.out_md, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
