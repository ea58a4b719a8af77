//! `du`, `pin` and `forget`: where the bytes go, what to keep, retiring the rest through
//! a trash.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::archive::{generate, ids};
use crate::util::{copied_home, ok, rollouts, run};

/// A session recorded now with the real binary, holding a 2 MB screenshot.
fn record_screenshot(home: &Path) -> String {
    let png = "iVBORw0KGgo".repeat(2_000_000 / 11);
    let line = json!({"type":"message","role":"user","content":[
        {"type":"input_text","text":"what is wrong on this screen?"},
        {"type":"input_image","image_url":format!("data:image/png;base64,{png}")}]});
    ok(
        home,
        &["record", "--cwd", "/"],
        format!("{line}\n").as_bytes(),
    )
    .trim()
    .to_string()
}

/// The rollouts in place (not in the trash).
fn in_place(home: &Path) -> Vec<PathBuf> {
    rollouts(home)
        .into_iter()
        .filter(|p| !p.starts_with(home.join("rolldex-trash")))
        .collect()
}

/// Every rollout's bytes (decompressed), by session id.
fn bytes_by_id(files: &[PathBuf]) -> BTreeMap<String, Vec<u8>> {
    files
        .iter()
        .filter_map(|p| {
            let id = rolldex::layout::session_id_from_path(p)?.to_string();
            let raw = fs::read(p).expect("read");
            let raw = if p.to_string_lossy().ends_with(".zst") {
                zstd::decode_all(&raw[..]).expect("zstd")
            } else {
                raw
            };
            Some((id, raw))
        })
        .collect()
}

/// The ids in a JSON array field.
fn id_set(v: &Value, field: &str) -> BTreeSet<String> {
    v[field]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_string())
        .collect()
}

fn trash_files(home: &Path) -> Vec<PathBuf> {
    let trash = home.join("rolldex-trash");
    if !trash.exists() {
        return Vec::new();
    }
    crate::util::files(&trash)
}

#[test]
fn du_sums_exactly_and_names_the_screenshot_session_the_largest() {
    let home = tempfile::tempdir().expect("tmp");
    generate(home.path(), 300, 15);
    let id = record_screenshot(home.path());
    let out = ok(home.path(), &["du", "--json", "--by", "repo"], b"");
    let du: Value = serde_json::from_str(out.trim()).expect("json");
    let total = du["total"]["raw_bytes"].as_i64().expect("raw");
    let kinds: i64 = du["by_kind"]
        .as_object()
        .expect("kinds")
        .values()
        .map(|v| v.as_i64().expect("n"))
        .sum();
    assert_eq!(kinds, total, "{du}");
    assert_eq!(du["total"]["sessions"], 301);
    assert_eq!(du["largest"][0]["id"], id.as_str(), "{du}");
    assert!(
        du["by_kind"]["images"].as_i64().expect("images") >= 2_000_000,
        "{du}"
    );
    // Every byte on disk is counted: the raw total is the decompressed size of every file.
    let on_disk: usize = bytes_by_id(&in_place(home.path()))
        .values()
        .map(Vec::len)
        .sum();
    assert_eq!(total as usize, on_disk);
    let repos: i64 = du["by_repo"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["sessions"].as_i64().expect("n"))
        .sum();
    assert_eq!(repos, 301);
    let human = ok(home.path(), &["du"], b"");
    assert!(human.contains("images") && human.contains(&id), "{human}");
    for by in ["session", "month"] {
        let v: Value =
            serde_json::from_str(ok(home.path(), &["du", "--json", "--by", by], b"").trim())
                .expect("json");
        assert!(
            v[format!("by_{by}")]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
            "{v}"
        );
    }
}

#[test]
fn forget_retires_exactly_the_old_unkept_sessions_through_the_trash() {
    let home = tempfile::tempdir().expect("tmp");
    let specs = generate(home.path(), 300, 16);
    let screenshot = record_screenshot(home.path());
    // Pin a few old sessions; make a few others recent again.
    let pinned: Vec<&str> = specs.iter().step_by(37).map(|s| s.id.as_str()).collect();
    for id in &pinned {
        assert!(ok(home.path(), &["pin", id], b"").contains("pinned"));
    }
    let listed: Vec<Value> = ok(home.path(), &["list", "--json", "--limit", "1000"], b"")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let pinned_listed: BTreeSet<&str> = listed
        .iter()
        .filter(|v| v["pinned"] == true)
        .map(|v| v["id"].as_str().expect("id"))
        .collect();
    assert_eq!(pinned_listed, pinned.iter().copied().collect());
    let before = bytes_by_id(&in_place(home.path()));
    let want: BTreeSet<String> = specs
        .iter()
        .map(|s| s.id.clone())
        .filter(|id| !pinned.contains(&id.as_str()))
        .collect();

    let dry = ok(
        home.path(),
        &[
            "forget",
            "--keep-within",
            "120d",
            "--keep-pinned",
            "--dry-run",
            "--json",
        ],
        b"",
    );
    let dry: Value = serde_json::from_str(dry.trim()).expect("json");
    let would = id_set(&dry, "would_forget");
    assert!(
        would == want,
        "would forget {}, expected {}",
        would.len(),
        want.len()
    );
    assert!(dry["bytes"].as_i64().expect("bytes") > 0);

    // Without --yes, off a terminal: exit 2, nothing moves.
    let refused = run(
        home.path(),
        &["forget", "--keep-within", "120d", "--keep-pinned"],
        b"",
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(trash_files(home.path()).is_empty());
    assert_eq!(bytes_by_id(&in_place(home.path())), before);

    let done = ok(
        home.path(),
        &[
            "forget",
            "--keep-within",
            "120d",
            "--keep-pinned",
            "--yes",
            "--json",
        ],
        b"",
    );
    let done: Value = serde_json::from_str(done.trim()).expect("json");
    let gone = id_set(&done, "forgotten");
    assert!(
        gone == want,
        "forgot {}, expected {}",
        gone.len(),
        want.len()
    );
    let left = bytes_by_id(&in_place(home.path()));
    let trashed = bytes_by_id(&trash_files(home.path()));
    let left_ids: BTreeSet<String> = left.keys().cloned().collect();
    let kept: BTreeSet<String> = pinned
        .iter()
        .map(|s| s.to_string())
        .chain([screenshot.clone()])
        .collect();
    assert!(
        left_ids == kept,
        "in place: {} of {} kept",
        left_ids.len(),
        kept.len()
    );
    let trashed_ids: BTreeSet<String> = trashed.keys().cloned().collect();
    assert!(
        trashed_ids == want,
        "{} in the trash, {} expected",
        trashed_ids.len(),
        want.len()
    );
    for (id, bytes) in &trashed {
        assert_eq!(bytes, &before[id], "{id} is byte-identical in the trash");
    }
    for (id, bytes) in &left {
        assert_eq!(bytes, &before[id], "{id} kept untouched");
    }
    let listed = ids(&ok(
        home.path(),
        &["list", "--json", "--limit", "1000"],
        b"",
    ));
    assert_eq!(listed.len(), pinned.len() + 1);
    // Trash and its folders are private.
    for p in trash_files(home.path()) {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs::metadata(p.parent().expect("dir"))
                .expect("meta")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o700);
    }

    // One comes back by id; then the trash is emptied for good.
    let back = &specs.iter().find(|s| want.contains(&s.id)).expect("one").id;
    ok(home.path(), &["forget", "--restore", back], b"");
    assert!(
        ids(&ok(
            home.path(),
            &["list", "--json", "--limit", "1000"],
            b""
        ))
        .contains(back)
    );
    assert_eq!(bytes_by_id(&in_place(home.path()))[back], before[back]);
    let refused = run(home.path(), &["forget", "--empty-trash"], b"");
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(trash_files(home.path()).len(), want.len() - 1);
    ok(home.path(), &["forget", "--empty-trash", "--yes"], b"");
    let rollouts_in_trash = trash_files(home.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("rollout-"))
        .count();
    assert_eq!(rollouts_in_trash, 0);
}

#[test]
fn a_live_session_and_the_parent_of_a_kept_subagent_are_never_forgotten() {
    // The parent of a pinned subagent stays, whatever its age.
    let home = tempfile::tempdir().expect("tmp");
    crate::util::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/late2026"),
        home.path(),
    );
    let scout = "019ab000-0000-7000-8000-000000000002";
    let main = "019ab000-0000-7000-8000-000000000001";
    ok(home.path(), &["pin", scout], b"");
    let dry: Value = serde_json::from_str(
        ok(
            home.path(),
            &[
                "forget",
                "--keep-within",
                "0s",
                "--keep-pinned",
                "--dry-run",
                "--json",
            ],
            b"",
        )
        .trim(),
    )
    .expect("json");
    let would: Vec<&str> = dry["would_forget"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id"))
        .collect();
    let mut would = would;
    would.sort_unstable();
    assert_eq!(
        would,
        [
            "019a1000-0000-7000-8000-000000000006",
            "019ab000-0000-7000-8000-000000000003",
            "019ab000-0000-7000-8000-000000000004",
            "5e0a0000-0000-4000-8000-000000000005"
        ],
        "the scout is pinned, so its parent stays: {dry}"
    );
    assert!(!would.contains(&main) && !would.contains(&scout));

    // A live recording is never touched, and keeps recording.
    let home = copied_home();
    let mut rec = crate::util::rolldex()
        .arg("--home")
        .arg(home.path())
        .args(["record", "--cwd", "/"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("record");
    let mut stdin = rec.stdin.take().expect("stdin");
    let item = |t: &str| {
        format!(
            "{}\n",
            json!({"type":"message","role":"user","content":[{"type":"input_text","text":t}]})
        )
    };
    stdin
        .write_all(item("first words").as_bytes())
        .expect("write");
    stdin.flush().expect("flush");
    let start = Instant::now();
    let live = loop {
        let found = rollouts(home.path())
            .into_iter()
            .find(|p| fs::read_to_string(p).is_ok_and(|t| t.contains("first words")));
        if let Some(p) = found {
            break p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the recording never appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = run(
        home.path(),
        &["forget", "--keep-within", "0s", "--yes", "--json"],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(live.exists(), "the live session stays in place");
    assert!(String::from_utf8_lossy(&out.stderr).contains("live"));
    stdin
        .write_all(item("still recording").as_bytes())
        .expect("write");
    drop(stdin);
    let done = rec.wait_with_output().expect("record");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let text = fs::read_to_string(&live).expect("read");
    assert!(text.contains("first words") && text.contains("still recording"));
    assert_eq!(in_place(home.path()), vec![live]);
}
