//! Unit tests of the template loader: parsing, each intrinsic and its errors, parameters, conditions, ordering,
//! globals (`eval.rs`), and whole templates applied through a real control plane (`apply.rs`).

mod apply;
mod eval;
