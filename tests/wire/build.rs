//! The same `specs/wire-types.yaml` as a build-script module (types only) with
//! `derive(JsonSchema)`, as a build-script user adds it. (Its examples run as this crate's tests.)

use asyncapi_nats::{Config, Parts};

fn main() {
    Config::new()
        .module_name("wire_module")
        .parts(Parts { types: true, publishers: false, subscribers: false })
        .derive("::schemars::JsonSchema")
        .compile_or_exit("../../specs/wire-types.yaml");
}
