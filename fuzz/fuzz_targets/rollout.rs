//! A whole rollout, plain and compressed: see `rolldex::fuzzing::rollout`.
#![no_main]

use std::sync::LazyLock;

/// One folder for the whole run: a fuzzer runs thousands of inputs a second.
static DIR: LazyLock<tempfile::TempDir> =
    LazyLock::new(|| tempfile::tempdir().expect("a temp folder"));

libfuzzer_sys::fuzz_target!(|data: &[u8]| rolldex::fuzzing::rollout(data, DIR.path()));
