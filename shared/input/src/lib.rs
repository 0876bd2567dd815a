//! `fd-input`: what input is acceptable, decided once (pure, no I/O).
#![forbid(unsafe_code)]
