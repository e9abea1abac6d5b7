//! Generates the NATS client from `spec/asyncapi.yaml` (a multi-file spec) at build time.

use asyncapi_nats::{Config, Parts, RuntimeDependency};

const SPEC: &str = "spec/asyncapi.yaml";

fn main() {
    // Everything, as most users want it: `$OUT_DIR/shipping.rs`.
    Config::new().module_name("shipping").compile_or_exit(SPEC);

    // The same spec with the options build-script users tune; each module must compile under
    // `#![deny(warnings)]` when included inside a user module.
    let parts = |types, publishers, subscribers| Parts { types, publishers, subscribers };
    Config::new().module_name("subjects_only").parts(parts(false, false, false)).compile_or_exit(SPEC);
    Config::new().module_name("types_only").parts(parts(true, false, false)).compile_or_exit(SPEC);
    Config::new().module_name("types_publishers").parts(parts(true, true, false)).compile_or_exit(SPEC);
    Config::new().module_name("types_subscribers").parts(parts(true, false, true)).compile_or_exit(SPEC);
    // Depending on the runtime crate instead of vendoring its source (declared in Cargo.toml).
    Config::new()
        .module_name("shipping_runtime_crate")
        .runtime_dependency(RuntimeDependency::Path("../../runtime".into()))
        .compile_or_exit(SPEC);
    Config::new()
        .module_name("customised")
        .derive("::std::cmp::PartialOrd")
        .type_attribute("non_exhaustive")
        .type_override("Category", "crate::category::Category")
        .compile_or_exit(SPEC);
}
