//! What the command line cannot show: a query's refresh does not open a file it already
//! knows to be unreadable.

use std::fs;

use rolldex::index::Index;
use rolldex::index::ingest::RefreshOptions;

use crate::util::archive::generate;

#[test]
fn a_known_unreadable_file_is_not_opened_again_until_it_changes() {
    let home = tempfile::tempdir().expect("tmp");
    generate(home.path(), 10, 5);
    let planted = crate::util::plant_bad_files(
        home.path(),
        &[
            "rollout-2025-01-01T00-00-40-0bad0000-0000-4000-8000-000000000040.jsonl.zst",
            "rollout-nothing.jsonl",
        ],
    );
    let db = home.path().join("rolldex.sqlite");
    let mut index = Index::open(&db).expect("open");
    let first = index
        .refresh(home.path(), RefreshOptions::default(), &mut |_| {})
        .expect("refresh");
    assert_eq!(first.errors.len(), 2, "{:?}", first.errors);
    assert!(
        first.unreadable.iter().all(|u| u.new),
        "{:?}",
        first.unreadable
    );

    for complete in [false, true] {
        let again = index
            .refresh(
                home.path(),
                RefreshOptions {
                    complete,
                    ..RefreshOptions::default()
                },
                &mut |_| {},
            )
            .expect("refresh");
        assert_eq!(again.files_opened, 0, "complete walk: {complete}");
        assert!(again.errors.is_empty(), "{:?}", again.errors);
        assert_eq!(
            again.earlier_unreadable().count(),
            2,
            "{:?}",
            again.unreadable
        );
    }

    // Grown: read again (and still broken, so named again as new).
    let nothing = &planted[1];
    let mut text = fs::read(nothing).expect("read");
    text.extend_from_slice(b"{\"more\":1}\n");
    fs::write(nothing, text).expect("grow");
    let grown = index
        .refresh(home.path(), RefreshOptions::default(), &mut |_| {})
        .expect("refresh");
    assert_eq!(grown.files_opened, 1);
    assert_eq!(grown.errors.len(), 1, "{:?}", grown.errors);
    assert_eq!(grown.unreadable.iter().filter(|u| u.new).count(), 1);
    assert_eq!(grown.earlier_unreadable().count(), 1);
}
