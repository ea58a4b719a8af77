//! The `rolldex` binary: parses the command line and hands over to [`cli`].

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Read the local UTC offset before any thread exists: the `time` crate refuses to
    // read it later (see `rolldex::layout::local_offset`).
    let local_offset = rolldex::layout::local_offset();
    cli::main(local_offset)
}
