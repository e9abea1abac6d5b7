//! The generated code of every corpus document (`tests/corpus/`) and of every shape of
//! `tests/matrix/`, in crate mode (`c_*`, `crate_*`: a generated crate's `src/lib.rs` as a module)
//! and module mode (`module_*`: the build.rs output), compiled under `#![deny(warnings)]`. See
//! `build.rs`; `report.tsv` in `$OUT_DIR` lists each document's warning count.
#![deny(warnings)]

include!(concat!(env!("OUT_DIR"), "/all.rs"));
