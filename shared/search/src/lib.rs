//! `fd-search`: the address book's search, pure (no I/O).
#![forbid(unsafe_code)]
