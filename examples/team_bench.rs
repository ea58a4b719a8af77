//! The team archive at scale: a real PostgreSQL server (started here, as the tests start
//! theirs) filled with N sessions and M items, then timed: search (a rare word, a common
//! word, a phrase, a prefix, ranked), list and a lookup by id prefix, in-process and end
//! to end through `rolldex --remote`; and a push of a generated home. Prints one JSON
//! object.
//!
//! ```sh
//! cargo run --release --example team_bench -- --sessions 10000 --items 1000000      # small
//! cargo run --release --example team_bench -- --sessions 100000 --items 10000000    # full
//! ```
//!
//! The rows are written by PostgreSQL itself (`generate_series`), not pushed, so the 10M
//! items take minutes rather than the hours a 30 GB corpus would; what is timed is reading.

#[path = "../benches/corpus/mod.rs"]
mod corpus;
// The tests' own server harness: initdb + pg_ctl in a temp dir, stopped on drop.
#[path = "../tests/util/pg.rs"]
#[allow(dead_code)]
mod pg;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use rolldex::query::{Filters, Order, SearchQuery};
use rolldex::team::Team;

#[derive(Debug, Parser)]
struct Args {
    /// Sessions in the archive.
    #[arg(long, default_value_t = 10_000)]
    sessions: i64,
    /// Items in the archive (spread evenly over the sessions).
    #[arg(long, default_value_t = 1_000_000)]
    items: i64,
    /// Size of the home pushed for the push throughput.
    #[arg(long, default_value = "100MB")]
    push_size: String,
    /// The rolldex binary for end-to-end timings.
    #[arg(long, default_value = "target/release/rolldex")]
    rolldex: PathBuf,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn main() {
    let args = Args::parse();
    let Some(server) = pg::start() else {
        eprintln!("team_bench: no PostgreSQL server binaries");
        std::process::exit(2);
    };
    server.create_db("bench");
    let url = server.url("bench");
    let mut team = Team::connect(&url).expect("connect");
    let mut c = server.client("bench");

    // Fill: sessions, then items without the word index, then the index (the fast way).
    let fill = Instant::now();
    let per = (args.items / args.sessions).max(1);
    c.batch_execute("DROP INDEX items_words; DROP INDEX items_at;")
        .expect("drop indexes");
    c.execute(
        "INSERT INTO sessions (id, host, rel_path, created_ms, updated_ms, cwd, repo_key,
            git_branch, title, items, raw_bytes, stored_bytes, sha256, items_through)
         SELECT lpad(to_hex(g), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(g), 12, '0'),
            'host' || (g % 7), 'sessions/2025/01/01/rollout-' || g || '.jsonl',
            1735689600000 + g * 60000, 1735689600000 + g * 60000 + 3600000,
            '/home/dev/p' || (g % 50), 'github.com/acme/repo' || (g % 20), 'main',
            'session number ' || g, $2, 100000, 30000, '', $2
         FROM generate_series(1, $1::int8) g",
        &[&args.sessions, &per],
    )
    .expect("sessions");
    // Words: a vocabulary of 2,000, Zipf-ish by squaring a uniform pick; "error" in about
    // one item in 20; one rare word per 100k items.
    c.execute(
        "INSERT INTO items (session_id, seq, at_ms, ts_ms, kind, role, summary)
         SELECT lpad(to_hex(s), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(s), 12, '0'), k,
            1735689600000 + s * 60000 + k * 1000, 1735689600000 + s * 60000 + k * 1000,
            'message', 'assistant',
            'w' || floor(power(random(), 2) * 2000)::int || ' w' || floor(power(random(), 2) * 2000)::int
              || ' the build of module w' || floor(random() * 2000)::int
              || CASE WHEN random() < 0.05 THEN ' error in the borrow checker' ELSE '' END
              || CASE WHEN (s * 1000 + k) % 100000 = 7 THEN ' zanzibarquux' ELSE '' END
              || ' w' || floor(power(random(), 2) * 2000)::int || ' w' || floor(random() * 2000)::int
         FROM generate_series(1, $1::int8) s, generate_series(1, $2::int8) k",
        &[&args.sessions, &per],
    )
    .expect("items");
    c.batch_execute(
        "CREATE INDEX items_words ON items USING gin (words);
         CREATE INDEX items_at ON items (at_ms DESC);",
    )
    .expect("index");
    c.batch_execute("VACUUM ANALYZE").expect("vacuum");
    let fill = fill.elapsed();
    let size: i64 = c
        .query_one("SELECT pg_database_size('bench')", &[])
        .expect("size")
        .get(0);
    let items: i64 = c
        .query_one("SELECT count(*) FROM items", &[])
        .expect("count")
        .get(0);

    let mut out = serde_json::Map::new();
    out.insert("sessions".into(), args.sessions.into());
    out.insert("items".into(), items.into());
    out.insert("fill_seconds".into(), fill.as_secs_f64().round().into());
    out.insert("database_mb".into(), (size / 1_000_000).into());
    for (name, text, order) in [
        ("rare_newest", "zanzibarquux", Order::Newest),
        ("common_newest", "error", Order::Newest),
        ("phrase_newest", "\"borrow checker\"", Order::Newest),
        ("prefix_newest", "zanzib*", Order::Newest),
        ("two_words_newest", "error w1", Order::Newest),
        ("rare_ranked", "zanzibarquux", Order::Rank),
        ("common_ranked", "error", Order::Rank),
    ] {
        let q = SearchQuery::new(text).order(order);
        let hits = team.search(&q).expect("search");
        assert!(!hits.is_empty(), "{text}: nothing found");
        let t = corpus::median(11, || {
            std::hint::black_box(team.search(&q).expect("search"));
        });
        out.insert(format!("search_{name}_ms"), ms(t).into());
    }
    let t = corpus::median(11, || {
        std::hint::black_box(team.list(&Filters::default(), 50).expect("list"));
    });
    out.insert("list_ms".into(), ms(t).into());
    let repo = Filters {
        repo: Some("acme/repo7".into()),
        ..Default::default()
    };
    let t = corpus::median(11, || {
        std::hint::black_box(team.list(&repo, 50).expect("list"));
    });
    out.insert("list_repo_ms".into(), ms(t).into());
    let t = corpus::median(11, || {
        std::hint::black_box(team.find_by_prefix("0000a1b2").expect("prefix"));
    });
    out.insert("lookup_prefix_ms".into(), ms(t).into());

    // End to end: a process that connects, searches and prints.
    let home = tempfile::tempdir().expect("tmp");
    let e2e = |args_: &[&str]| {
        corpus::median(5, || {
            let st = Command::new(&args.rolldex)
                .arg("--home")
                .arg(home.path())
                .args(["--remote", &url])
                .args(args_)
                .output()
                .expect("rolldex");
            assert!(
                st.status.success(),
                "{}",
                String::from_utf8_lossy(&st.stderr)
            );
        })
    };
    out.insert(
        "e2e_search_rare_ms".into(),
        ms(e2e(&["search", "zanzibarquux", "--limit", "20"])).into(),
    );
    out.insert(
        "e2e_search_common_ms".into(),
        ms(e2e(&["search", "error", "--limit", "20"])).into(),
    );
    out.insert(
        "e2e_list_ms".into(),
        ms(e2e(&["list", "--limit", "20"])).into(),
    );

    // Push throughput: a generated home into an empty database.
    server.create_db("push");
    let push_url = server.url("push");
    let total = corpus::parse_size(&args.push_size).expect("--push-size");
    let c2 = corpus::generate(
        home.path(),
        &corpus::CorpusSpec {
            sessions: (total / 400_000).max(10) as usize,
            total_bytes: total,
            seed: 42,
        },
    )
    .expect("corpus");
    let index = Command::new(&args.rolldex)
        .arg("--home")
        .arg(home.path())
        .arg("index")
        .output()
        .expect("index");
    assert!(index.status.success());
    let t = Instant::now();
    let push = Command::new(&args.rolldex)
        .arg("--home")
        .arg(home.path())
        .args(["push", "--to", &push_url, "--json"])
        .output()
        .expect("push");
    let took = t.elapsed();
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&push.stdout).expect("json");
    out.insert("push_sessions".into(), report["sessions_pushed"].clone());
    out.insert("push_raw_mb".into(), (c2.total_bytes / 1_000_000).into());
    out.insert(
        "push_mb_s".into(),
        ((c2.total_bytes as f64 / 1e6 / took.as_secs_f64()).round()).into(),
    );
    out.insert(
        "push_sent_mb".into(),
        (report["bytes_sent"].as_u64().unwrap_or(0) / 1_000_000).into(),
    );
    let mut pc = server.client("push");
    let per_session: i64 = pc
        .query_one(
            "SELECT (pg_database_size('push') - pg_database_size('postgres')) / greatest(count(*), 1) FROM sessions",
            &[],
        )
        .expect("size")
        .get(0);
    out.insert("push_db_bytes_per_session".into(), per_session.into());
    let t = Instant::now();
    let again = Command::new(&args.rolldex)
        .arg("--home")
        .arg(home.path())
        .args(["push", "--to", &push_url, "--json"])
        .output()
        .expect("push");
    assert!(again.status.success());
    out.insert("push_nothing_changed_ms".into(), ms(t.elapsed()).into());
    println!("{}", serde_json::Value::Object(out));
}
