//! Memory follows the longest line, never the file: a 100 MB line, and many small ones.

use std::fs::File;
use std::io::{BufWriter, Write};

use rolldex::reader::{Entry, RolloutReader};

const HUNDRED_MB: usize = 100 * 1024 * 1024;

fn write_file(path: &std::path::Path, huge_text: usize, small_lines: usize, compress: bool) {
    let file = File::create(path).expect("create");
    let mut out: Box<dyn Write> = if compress {
        Box::new(zstd::Encoder::new(file, 1).expect("enc").auto_finish())
    } else {
        Box::new(BufWriter::new(file))
    };
    out.write_all(b"{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"")
        .expect("w");
    let chunk = vec![b'a'; 1024 * 1024];
    let mut left = huge_text;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n]).expect("w");
        left -= n;
    }
    out.write_all(b"\"}]}\n").expect("w");
    for i in 0..small_lines {
        writeln!(out, "{{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{{\"type\":\"output_text\",\"text\":\"{i}\"}}]}}")
            .expect("w");
    }
}

fn check(path: &std::path::Path) {
    let mut reader = RolloutReader::open(path).expect("open");
    let mut max_cap = 0;
    let mut records = 0;
    let mut first_len = 0;
    while let Some(entry) = reader.next_entry() {
        max_cap = max_cap.max(reader.buffer_capacity());
        match entry.expect("no I/O error") {
            Entry::Record(r) => {
                if records == 0
                    && let rolldex::model::RolloutItem::ResponseItem(item) = &r.line.item
                {
                    first_len = item.message_text().len();
                }
                records += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(records, 1001);
    assert_eq!(first_len, HUNDRED_MB);
    assert!(
        max_cap <= 2 * HUNDRED_MB + (1 << 20),
        "line buffer {max_cap}"
    );
    // After the huge line the buffer is given back: the rest of the file reads small.
    assert!(
        reader.buffer_capacity() < 1 << 20,
        "still {}",
        reader.buffer_capacity()
    );
}

#[test]
fn a_100_mb_line_reads_whole_and_its_memory_is_given_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = dir.path().join("rollout-big.jsonl");
    write_file(&plain, HUNDRED_MB, 1000, false);
    check(&plain);
    let zst = dir.path().join("rollout-big.jsonl.zst");
    write_file(&zst, HUNDRED_MB, 1000, true);
    check(&zst);
}

#[test]
fn many_small_lines_keep_the_line_buffer_small() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("rollout-many.jsonl");
    let mut out = BufWriter::new(File::create(&path).expect("create"));
    for i in 0..200_000 {
        writeln!(out, "{{\"type\":\"reasoning\",\"summary\":[{{\"type\":\"summary_text\",\"text\":\"step {i}\"}}]}}").expect("w");
    }
    drop(out);
    let mut reader = RolloutReader::open(&path).expect("open");
    let mut n = 0;
    while let Some(e) = reader.next_entry() {
        assert!(matches!(e, Ok(Entry::Record(_))));
        n += 1;
    }
    assert_eq!(n, 200_000);
    assert!(
        reader.buffer_capacity() <= 4096,
        "{}",
        reader.buffer_capacity()
    );
}
