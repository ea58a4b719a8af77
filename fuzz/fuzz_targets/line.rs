//! One rollout line: see `rolldex::fuzzing::line`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rolldex::fuzzing::line(data));
