//! Times `rolldex mcp` as an agent meets it, for `benches/compare.sh`: the real binary over
//! stdio, driven as an MCP client drives it. Prints one JSON object: start to the first
//! answer (`initialize`, then a first `search_sessions`), the median round trip of
//! `search_sessions` and of `read_session` (16 KiB around a line when one is given), and
//! the server's peak memory.
//!
//! ```sh
//! cargo run --release --example mcp_probe -- --bin target/release/rolldex \
//!     --home H --db H/rolldex.sqlite --query parser [--session ID --seq N]
//! ```

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};

/// Time rolldex mcp.
#[derive(Debug, Parser)]
struct Args {
    /// The rolldex binary.
    #[arg(long)]
    bin: PathBuf,
    /// The Codex home (`--home`).
    #[arg(long)]
    home: PathBuf,
    /// The index (`--db`).
    #[arg(long)]
    db: PathBuf,
    /// Words to search for.
    #[arg(long)]
    query: String,
    /// A session to read (else the first hit's).
    #[arg(long)]
    session: Option<String>,
    /// The line to read around (else from the start).
    #[arg(long)]
    seq: Option<u64>,
    /// Round trips per tool.
    #[arg(long, default_value_t = 21)]
    runs: usize,
}

fn median(mut d: Vec<Duration>) -> f64 {
    d.sort();
    d[d.len() / 2].as_secs_f64() * 1000.0
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let mut child = Command::new(&args.bin)
        .arg("--home")
        .arg(&args.home)
        .arg("--db")
        .arg(&args.db)
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or_else(|| anyhow::anyhow!("stdin"))?;
    let mut stdout = BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("stdout"))?,
    );
    let mut id = 0u64;
    let mut ask = |method: &str, params: Value| -> anyhow::Result<Value> {
        id += 1;
        writeln!(
            stdin,
            "{}",
            json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
        )?;
        stdin.flush()?;
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line)? == 0 {
                anyhow::bail!("the server ended");
            }
            let v: Value = serde_json::from_str(&line)?;
            if v["id"] == json!(id) {
                return Ok(v);
            }
        }
    };
    ask(
        "initialize",
        json!({"protocolVersion":"2025-06-18","capabilities":{},
            "clientInfo":{"name":"mcp_probe","version":"0"}}),
    )?;
    let initialized_ms = started.elapsed().as_secs_f64() * 1000.0;
    let search = json!({"name":"search_sessions","arguments":{"query":args.query,"limit":20}});
    let first = ask("tools/call", search.clone())?;
    let first_answer_ms = started.elapsed().as_secs_f64() * 1000.0;
    let hit = &first["result"]["structuredContent"]["hits"][0];
    let session = args
        .session
        .clone()
        .or_else(|| hit["id"].as_str().map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("no hit for {:?}: {first}", args.query))?;
    let mut searches = Vec::new();
    for _ in 0..args.runs {
        let t = Instant::now();
        let r = ask("tools/call", search.clone())?;
        searches.push(t.elapsed());
        anyhow::ensure!(r["result"]["isError"] != json!(true), "{r}");
    }
    let mut read_args = json!({"session": session, "max_bytes": 16384});
    if let Some(seq) = args.seq {
        read_args["seq"] = json!(seq);
    }
    let read = json!({"name":"read_session","arguments":read_args});
    let mut reads = Vec::new();
    let mut bytes = 0;
    for _ in 0..args.runs.min(5) {
        let t = Instant::now();
        let r = ask("tools/call", read.clone())?;
        reads.push(t.elapsed());
        anyhow::ensure!(r["result"]["isError"] != json!(true), "{r}");
        bytes = r["result"]["structuredContent"]["text"]
            .as_str()
            .map_or(0, str::len);
    }
    // The server's peak memory, before it ends (Linux).
    let peak_kb = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        });
    // End of input ends the server.
    drop(stdin);
    let status = child.wait()?;
    println!(
        "{}",
        json!({
            "initialize_ms": (initialized_ms * 100.0).round() / 100.0,
            "first_answer_ms": (first_answer_ms * 100.0).round() / 100.0,
            "search_ms": (median(searches) * 100.0).round() / 100.0,
            "read_ms": (median(reads) * 100.0).round() / 100.0,
            "read_bytes": bytes,
            "exit": status.code(),
            "peak_kb": peak_kb,
        })
    );
    Ok(())
}
