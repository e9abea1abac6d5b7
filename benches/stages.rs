//! Per-stage benchmark: where generation time and memory go (load, model, types, view,
//! render+fmt, manifests, write) for synthetic documents of 50 / 500 / 5,000 channels.
//! Load includes reading every `$ref`'d file and indexing positions; resolving `$ref`s
//! inside the document happens in model and types, which follow them.
//!
//! Run: `cargo bench --bench stages` (`SIZES=500` to choose sizes). Figures are one run in
//! one process (RSS after each stage; the peak is the process's so far).

#[path = "support/synthetic.rs"]
mod synthetic;

fn main() {
    let sizes: Vec<usize> = std::env::var("SIZES")
        .map(|s| s.split(',').map(|x| x.trim().parse().expect("SIZES: numbers")).collect())
        .unwrap_or_else(|_| vec![50, 500, 5000]);
    let dir = tempfile::tempdir().unwrap();
    for n in sizes {
        let spec = dir.path().join(format!("scale-{n}.yaml"));
        std::fs::write(&spec, synthetic::spec(n)).unwrap();
        let mut timings = asyncapi_nats::Timings::default();
        let generated = asyncapi_nats::Config::new().generate_crate_timed(&spec, &mut timings).unwrap();
        let out = dir.path().join(format!("out-{n}"));
        timings.time("write", || asyncapi_nats::write::write_files_and_prune(&out, &generated.files).unwrap());
        drop(generated);
        println!("{n} channels:\n{timings}\n");
    }
}
