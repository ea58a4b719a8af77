//! What a person types as a search: see `rolldex::fuzzing::search`.
#![no_main]

use std::sync::LazyLock;

use rolldex::fuzzing::SearchIndex;

static DIR: LazyLock<tempfile::TempDir> =
    LazyLock::new(|| tempfile::tempdir().expect("a temp folder"));

thread_local! {
    /// Built once: the real schema and one indexed session.
    static INDEX: SearchIndex = SearchIndex::new(DIR.path());
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    INDEX.with(|index| rolldex::fuzzing::search(index, data))
});
