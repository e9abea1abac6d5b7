//! Scale benchmark: generation time for synthetic specs of growing size.
//! Prints the time per channel relative to the smallest size; a linear
//! pipeline keeps the ratio near 1 (a quadratic one doubles it with every doubling).
//!
//! Run: `cargo bench --bench scale`

use std::fmt::Write as _;
use std::time::Instant;

fn spec(channels: usize) -> String {
    let domains = 20;
    let mut s = String::from("asyncapi: 3.0.0\ninfo: {title: Scale, version: 1.0.0}\nx-jetstream:\n  streams:\n");
    for d in 0..domains {
        writeln!(s, "    D{d}: {{subjects: ['domain{d}.>'], storage: file}}").unwrap();
    }
    s.push_str("channels:\n");
    for i in 0..channels {
        let d = i % domains;
        write!(
            s,
            "  c{i}:\n    address: domain{d}.entity{i}.{{id}}.changed\n    parameters: {{id: {{}}}}\n    x-jetstream: {{stream: D{d}}}\n    messages:\n      m: {{$ref: '#/components/messages/M{i}'}}\n"
        )
        .unwrap();
    }
    s.push_str("operations:\n");
    for i in 0..channels {
        write!(
            s,
            "  receive{i}:\n    action: receive\n    channel: {{$ref: '#/channels/c{i}'}}\n    x-jetstream: {{durable: d{i}, maxDeliver: 5}}\n  send{i}:\n    action: send\n    channel: {{$ref: '#/channels/c{i}'}}\n"
        )
        .unwrap();
    }
    s.push_str("components:\n  messages:\n");
    for i in 0..channels {
        writeln!(s, "    M{i}: {{name: Entity{i}Changed, payload: {{$ref: '#/components/schemas/Entity{i}'}}}}")
            .unwrap();
    }
    s.push_str("  schemas:\n");
    for i in 0..channels {
        write!(
            s,
            "    Entity{i}:\n      type: object\n      required: [id, state]\n      properties:\n        id: {{type: string, format: uuid}}\n        state: {{type: string, enum: [new, active, closed]}}\n        count: {{type: integer, format: int32}}\n        tags: {{type: array, items: {{type: string}}}}\n        owner: {{$ref: '#/components/schemas/Owner'}}\n"
        )
        .unwrap();
    }
    s.push_str("    Owner:\n      type: object\n      properties:\n        name: {type: string}\n");
    s
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let sizes: Vec<usize> = std::env::var("SIZES")
        .map(|s| s.split(",").map(|x| x.parse().unwrap()).collect())
        .unwrap_or(vec![250, 500, 1000, 2000, 5000]);
    let mut base = None;
    println!("{:>8} {:>10} {:>12} {:>8}", "channels", "ms", "us/channel", "ratio");
    for n in sizes {
        let path = dir.path().join(format!("scale-{n}.yaml"));
        std::fs::write(&path, spec(n)).unwrap();
        // Best of 3 to damp noise from the shared machine.
        let best = (0..3)
            .map(|_| {
                let start = Instant::now();
                let generated = asyncapi_nats::Config::new().generate_crate(&path).unwrap();
                assert!(generated.files.len() > n);
                start.elapsed()
            })
            .min()
            .unwrap();
        let per = best.as_secs_f64() * 1e6 / n as f64;
        let ratio = per / *base.get_or_insert(per);
        println!("{n:>8} {:>10.1} {per:>12.1} {ratio:>8.2}", best.as_secs_f64() * 1e3);
    }
}
