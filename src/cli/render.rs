//! Turning sessions into text for people: the library's rendering (see
//! [`rolldex::render`]).

pub use rolldex::render::*;
