//! `fd-contacts`: the address book's view of a provisioned user (pure, no I/O).
#![forbid(unsafe_code)]
