//! Library-level checks: what the command line cannot choose (the indexer's threads).

mod pipeline;
mod unreadable;
