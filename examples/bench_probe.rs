//! In-process measurements for `benches/compare.sh`, printed as one JSON object: what a
//! command-line timing cannot see (the recorder's per-call latency, `list` without process
//! start-up, parse throughput against plain serde_json on the same file).
//!
//! ```sh
//! cargo run --release --example bench_probe -- --home H --big FILE.jsonl --big-zst FILE.jsonl.zst
//! ```

#[path = "../benches/corpus/mod.rs"]
mod corpus;

use std::fs;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use rolldex::index::Index;
use rolldex::index::ingest::RefreshOptions;
use rolldex::query::{self, Filters};
use rolldex::reader::{Entry, RolloutReader};

/// Measure rolldex in-process.
#[derive(Debug, Parser)]
struct Args {
    /// An indexed home.
    #[arg(long)]
    home: PathBuf,
    /// Only time the refresh that queries run first (nothing changed), print
    /// `{"refresh_us": …, "files": …}` and stop.
    #[arg(long)]
    refresh_only: bool,
    /// A big plain rollout, and the same compressed.
    #[arg(long, required_unless_present = "refresh_only")]
    big: Option<PathBuf>,
    #[arg(long, required_unless_present = "refresh_only")]
    big_zst: Option<PathBuf>,
    /// A word only one session contains.
    #[arg(long, required_unless_present = "refresh_only")]
    rare: Option<String>,
    /// A word in most sessions.
    #[arg(long, default_value = "error")]
    common: String,
    /// Recorder calls to time.
    #[arg(long, default_value_t = 200_000)]
    items: usize,
}

fn parse_all(path: &Path) -> u64 {
    let mut r = RolloutReader::open(path).expect("open");
    let mut n = 0;
    while let Some(e) = r.next_entry() {
        if let Entry::Record(rec) = e.expect("entry") {
            n += rec.number & 1;
        }
    }
    n
}

fn serde_values(path: &Path) -> usize {
    let f = std::io::BufReader::with_capacity(256 * 1024, fs::File::open(path).expect("open"));
    let mut n = 0;
    for line in f.split(b'\n') {
        let v: serde_json::Value = serde_json::from_slice(&line.expect("line")).expect("json");
        n += v.is_object() as usize;
    }
    n
}

/// `list --repo --since` over an index of 100k sessions (rows inserted directly: listing
/// reads the sessions table only), median of 101 runs.
fn list_over_100k_sessions() -> Duration {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("100k.sqlite");
    let mut index = Index::open(&db).expect("open");
    let repos = [
        "github.com/acme/widget",
        "github.com/acme/gadget",
        "gitlab.com/ops/deploy",
        "github.com/person/dotfiles",
    ];
    {
        let tx = index.writer().transaction().expect("tx");
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO sessions(id, path, created_ms, updated_ms, cwd, git_branch, git_commit, repo_key, title)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'main', ?6, ?7, 'a title')",
                )
                .expect("prepare");
            let start: i64 = 1_740_787_200_000;
            for i in 0..100_000i64 {
                let created = start + i * 200_000;
                st.execute(rusqlite::params![
                    format!("{:08x}-0000-7000-8000-{:012x}", i, i),
                    format!("/h/sessions/rollout-{i}.jsonl"),
                    created,
                    created + 3_600_000,
                    format!("/home/dev/src/p{}", i % 50),
                    format!("{:040x}", i * 7919),
                    repos[(i % 4) as usize],
                ])
                .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    let conn = index.reader().expect("reader");
    let filters = Filters {
        repo: Some("acme/widget".into()),
        since_ms: Some(1_748_736_000_000),
        ..Default::default()
    };
    let n = query::list(&conn, index.path(), &filters, 50)
        .expect("list")
        .len();
    assert_eq!(n, 50);
    corpus::median(101, || {
        std::hint::black_box(query::list(&conn, index.path(), &filters, 50).expect("list"));
    })
}

/// The refresh every query runs first, in-process, on a home where nothing changed: the
/// fast walk (folders whose mtime changed, plain files only). Median of 21 runs.
fn refresh_nothing_changed(home: &Path) -> (Duration, u64) {
    let mut home = rolldex::Home::new(home).expect("home");
    let first = home
        .refresh(RefreshOptions::default())
        .expect("first refresh");
    let t = corpus::median(21, || {
        let r = home.refresh(RefreshOptions::default()).expect("refresh");
        assert_eq!(r.items_indexed, 0, "nothing changed");
    });
    (t, first.sessions)
}

fn main() {
    let args = Args::parse();
    if args.refresh_only {
        let (t, sessions) = refresh_nothing_changed(&args.home);
        println!(
            "{}",
            serde_json::json!({"refresh_us": t.as_secs_f64() * 1e6, "sessions": sessions})
        );
        return;
    }
    let (big, big_zst, rare) = (
        args.big.clone().expect("--big"),
        args.big_zst.clone().expect("--big-zst"),
        args.rare.clone().expect("--rare"),
    );
    let mb = fs::metadata(&big).expect("big").len() as f64 / 1e6;
    let show_raw = corpus::median(5, || {
        std::hint::black_box(parse_all(&big));
    });
    let show_zst = corpus::median(5, || {
        std::hint::black_box(parse_all(&big_zst));
    });
    let serde = corpus::median(5, || {
        std::hint::black_box(serde_values(&big));
    });

    let index = Index::open(&Index::default_path(&args.home)).expect("index");
    let conn = index.reader().expect("reader");
    let filters = Filters {
        repo: Some("acme/widget".into()),
        since_ms: Some(1_748_736_000_000), // 2025-06-01
        ..Default::default()
    };
    let list = corpus::median(101, || {
        std::hint::black_box(query::list(&conn, index.path(), &filters, 50).expect("list"));
    });
    let list_100k = list_over_100k_sessions();
    let mut search = serde_json::Map::new();
    for (name, word) in [("rare", &rare), ("common", &args.common)] {
        for (oname, order) in [
            ("newest", query::Order::Newest),
            ("ranked", query::Order::Rank),
        ] {
            let t = corpus::median(21, || {
                let q = query::SearchQuery::new(word.as_str()).order(order);
                let hits = query::search(&conn, index.path(), &q).expect("search");
                assert!(!hits.is_empty(), "{word} not found");
                std::hint::black_box(hits);
            });
            search.insert(
                format!("search_{name}_{oname}_us"),
                (t.as_secs_f64() * 1e6).into(),
            );
        }
    }
    let sessions = query::count(&conn, index.path(), &Filters::default()).expect("count");

    // The recorder: one item per call, as an agent records them.
    let rt = corpus::bench_runtime();
    let home = tempfile::tempdir().expect("tmp");
    let (info, opts, item) = corpus::bench_recorder(home.path());
    let (items_per_s, p50, p99) = rt.block_on(async {
        let rec = rolldex::Recorder::create(home.path(), uuid::Uuid::now_v7(), info, opts)
            .await
            .expect("recorder");
        let mut lat = Vec::with_capacity(args.items);
        let start = Instant::now();
        for _ in 0..args.items {
            let t = Instant::now();
            rec.record_items(std::slice::from_ref(&item))
                .await
                .expect("record");
            lat.push(t.elapsed());
        }
        rec.shutdown().await.expect("shutdown");
        let total = start.elapsed();
        lat.sort();
        (
            args.items as f64 / total.as_secs_f64(),
            lat[lat.len() / 2],
            lat[lat.len() * 99 / 100],
        )
    });

    let mut out = serde_json::json!({
        "big_mb": mb,
        "show_raw_mb_s": mb / show_raw.as_secs_f64(),
        "show_zst_mb_s": mb / show_zst.as_secs_f64(),
        "serde_json_mb_s": mb / serde.as_secs_f64(),
        "list_repo_since_us": list.as_secs_f64() * 1e6,
        "list_repo_since_100k_us": list_100k.as_secs_f64() * 1e6,
        "sessions": sessions,
        "recorder_items_per_s": items_per_s,
        "record_items_p50_us": p50.as_secs_f64() * 1e6,
        "record_items_p99_us": p99.as_secs_f64() * 1e6,
    });
    if let Some(o) = out.as_object_mut() {
        o.extend(search);
    }
    println!("{out}");
}
