//! One module per area of the command line.

mod agents;
mod archive;
mod archive_job;
mod bad_input;
mod big_lines;
mod cost;
mod export;
mod fast_refresh;
mod forget;
mod late2026;
mod list;
pub(crate) mod mcp;
mod pick;
mod record;
mod security;
mod shell;
mod show;
mod team;
mod unreadable;
mod watch;
