//! `rolldex export`: a session as a Markdown, HTML or JSON document, secrets redacted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rolldex::export::{Document, Format};
use rolldex::transcript::TranscriptOptions;

use super::Ctx;

/// The formats `--format` takes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    /// GitHub-flavoured Markdown.
    Md,
    /// One self-contained HTML file (inline CSS, no script).
    Html,
    /// One JSON document.
    Json,
}

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The session: an id, a unique id prefix, its name, or a rollout path.
    session: String,
    /// The document's format.
    #[arg(long, value_enum, default_value = "md")]
    format: FormatArg,
    /// Write the document to FILE (0600) instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long, requires = "output")]
    force: bool,
    /// Keep secrets (API keys, tokens, private keys, passwords) as they were written.
    #[arg(long)]
    no_redact: bool,
    /// Keep injected context (instructions, environment) in full instead of one line.
    #[arg(long)]
    include_context: bool,
    /// Keep tool outputs whole instead of their head and tail.
    #[arg(long)]
    full_output: bool,
}

pub fn run(ctx: &Ctx, args: ExportArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if let Some(file) = &args.output
        && !args.force
        && file.exists()
    {
        anyhow::bail!("{}: exists; use --force to replace it", file.display());
    }
    let mut home = ctx.reader()?;
    let t = home.transcript(&args.session)?;
    let opts = TranscriptOptions {
        redact: !args.no_redact,
        include_context: args.include_context,
        full_output: args.full_output,
    };
    let doc = Document::read(&t, opts)?.priced(&mut home)?;
    let format = match args.format {
        FormatArg::Md => Format::Markdown,
        FormatArg::Html => Format::Html,
        FormatArg::Json => Format::Json,
    };
    // Rendered whole before anything is written: a failure leaves no half document.
    let mut bytes = Vec::new();
    doc.render(format, &mut bytes)?;
    match &args.output {
        None => out.write_all(&bytes)?,
        Some(file) => write_private(file, &bytes, args.force)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `file` through a private temp file in the same folder, synced, then
/// put in place: by a rename with `force`, else by a hard link, which never replaces a
/// file that appeared meanwhile.
fn write_private(file: &Path, bytes: &[u8], force: bool) -> anyhow::Result<()> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (temp, mut f) = rolldex::layout::create_temp(&dir, "export")?;
    let result = (|| -> anyhow::Result<()> {
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("{}: writing", temp.display()))?;
        if force {
            std::fs::rename(&temp, file)
                .with_context(|| format!("{}: putting the export in place", file.display()))?;
        } else {
            std::fs::hard_link(&temp, file).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    anyhow::anyhow!("{}: exists; use --force to replace it", file.display())
                } else {
                    anyhow::Error::from(e)
                        .context(format!("{}: putting the export in place", file.display()))
                }
            })?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&temp);
    result
}
