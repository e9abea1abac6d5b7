//! End-to-end scale benchmark: `asyncapi-nats gen -v` of synthetic documents (see
//! `support/synthetic.rs`) at 50 / 500 / 5,000 channels, each run its own process so its peak RSS
//! is its own (the figures are the CLI's own timings: load to write, without process start). Prints wall time (generate + write, best of `RUNS`), per-channel cost, peak
//! RSS and the 5,000 : 50 per-channel ratio (a linear pipeline keeps it near 1). CPU
//! time (user + system, all threads) is printed too: on a shared machine it is steadier
//! than wall time.
//!
//! Every run writes into a fresh folder, and the folders are removed only at the end: creating
//! thousands of files right after deleting thousands (within ~30 s) makes ext4 without a journal
//! scan its recently deleted inodes (`recently_deleted` in the kernel), which took the write of
//! the 5,000 manifests from 0.1 s to 3 s — a property of the file system, not of the generator.
//!
//! Run: `cargo bench --bench scale` (`SIZES=50,500` to choose sizes, `RUNS=1`;
//! `SPEC_OUT=dir` also keeps the documents, e.g. to `cargo check` a generated crate;
//! `MODE=module` generates the single `build.rs` file instead, through the library in a child process
//! of the benchmark, with the system allocator, as a build script does).

#[path = "support/synthetic.rs"]
mod synthetic;

use std::process::Command;
use std::time::Instant;

fn main() {
    if let Ok(args) = std::env::var("SCALE_CHILD") {
        return child(&args);
    }
    let sizes: Vec<usize> = std::env::var("SIZES")
        .map(|s| s.split(',').map(|x| x.trim().parse().expect("SIZES: numbers")).collect())
        .unwrap_or_else(|_| vec![50, 500, 5000]);
    // MODE=module: the single file a build script `include!`s (`Config::compile`, in a child
    // process of this benchmark), instead of the crate (`asyncapi-nats gen`).
    let module = std::env::var("MODE").is_ok_and(|m| m == "module");
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let keep = std::env::var_os("SPEC_OUT").map(std::path::PathBuf::from);
    println!(
        "{:>8} {:>10} {:>9} {:>12} {:>9} {:>10} {:>12}",
        "channels", "YAML kB", "wall ms", "us/channel", "CPU ms", "peak MB", "kB/channel"
    );
    let mut per_channel = Vec::new();
    for &n in &sizes {
        let text = synthetic::spec(n);
        let spec = match &keep {
            Some(d) => {
                std::fs::create_dir_all(d).unwrap();
                d.join(format!("scale-{n}.yaml"))
            }
            None => dir.path().join(format!("scale-{n}.yaml")),
        };
        std::fs::write(&spec, &text).unwrap();
        let mut best = (f64::INFINITY, 0u64, f64::INFINITY);
        for run in 0..runs {
            let out = dir.path().join(format!("out-{n}-{run}"));
            let (secs, rss_kb, cpu) = if module { library(&spec, &out) } else { cli(&spec, &out) };
            best.0 = best.0.min(secs);
            best.2 = best.2.min(cpu);
            best.1 = best.1.max(rss_kb);
        }
        let us = best.0 * 1e6 / n as f64;
        per_channel.push((n, us));
        println!(
            "{n:>8} {:>10} {:>9.0} {us:>12.0} {:>9.0} {:>10.0} {:>12.0}",
            text.len() / 1000,
            best.0 * 1e3,
            best.2 * 1e3,
            best.1 as f64 / 1024.0,
            best.1 as f64 / n as f64
        );
    }
    if let (Some(first), Some(last)) = (per_channel.first(), per_channel.last()) {
        println!("per-channel time ratio {}:{} = {:.2}", last.0, first.0, last.1 / first.1);
    }
}

/// `asyncapi-nats gen -v` (what users run, with the CLI's allocator): (seconds, peak RSS kB, CPU
/// seconds) from its timings' total line.
fn cli(spec: &std::path::Path, out: &std::path::Path) -> (f64, u64, f64) {
    let output = Command::new(env!("CARGO_BIN_EXE_asyncapi-nats"))
        .arg("gen")
        .arg(spec)
        .arg("-o")
        .arg(out)
        .arg("-v")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "gen failed: {stderr}");
    let total = stderr.lines().map(str::trim).find(|l| l.starts_with("total ")).expect("the timings' total line");
    let numbers: Vec<f64> = total.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    let [wall_ms, cpu_ms, peak_mb] = numbers[..] else { panic!("total line: {total}") };
    (wall_ms / 1e3, (peak_mb * 1024.0) as u64, cpu_ms / 1e3)
}

/// `Config::compile` in a child process of this benchmark (what a build script runs, with the
/// system allocator): (seconds, peak RSS kB, CPU seconds).
fn library(spec: &std::path::Path, out: &std::path::Path) -> (f64, u64, f64) {
    let output = Command::new(std::env::current_exe().unwrap())
        .env("SCALE_CHILD", format!("{}\n{}", spec.display(), out.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "child failed: {}", String::from_utf8_lossy(&output.stderr));
    // The last line: `compile` prints `cargo:rerun-if-changed` lines before it.
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut parts = stdout.lines().last().unwrap_or_default().split_whitespace();
    let secs: f64 = parts.next().unwrap().parse().unwrap();
    let rss_kb: u64 = parts.next().unwrap().parse().unwrap();
    let cpu: f64 = parts.next().unwrap().parse().unwrap();
    (secs, rss_kb, cpu)
}

/// One generation in this process: prints seconds and peak RSS (kB).
fn child(args: &str) {
    let (spec, out) = args.split_once('\n').unwrap();
    let start = Instant::now();
    asyncapi_nats::Config::new().out_dir(out).compile(spec).unwrap();
    let secs = start.elapsed().as_secs_f64();
    let cpu = asyncapi_nats::proc_stats::cpu_time().as_secs_f64();
    println!("{secs} {} {cpu}", peak_rss_kb());
}

/// `VmHWM` of this process (Linux); 0 elsewhere.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}
