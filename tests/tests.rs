//! Black-box tests: the real `rolldex` binary against temp homes, plus library-level
//! checks of what only shows on large real files.

mod cli;
mod library;
mod util;
