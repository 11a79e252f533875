//! Whole-project tests live in `tests/*.rs`.
