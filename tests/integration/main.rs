//! The black-box tests, one module per area, linked into one test binary
//! (one link of the crate instead of one per file). Every jsafe process a
//! test starts is built by `common::jsafe` / `common::command`, which clear
//! the inherited `JSAFE_*` variables first.

mod common;

mod append;
mod backups;
mod cleanup;
mod cleanup_paths;
mod cli;
mod completion_pty;
mod completion_values;
mod concurrency;
mod crash;
mod doc_exit_codes;
mod etcd;
mod faults;
mod fidelity;
mod forget;
mod generated;
mod harness;
mod journal;
mod jq_compat;
mod json_output;
mod lock;
mod messages;
mod next_steps;
mod outside;
mod powercut;
mod read_inputs;
mod rotate;
mod schema;
mod security;
mod selftest;
mod shell_values;
mod shim;
mod splice_memory;
mod spliced_update;
mod startup;
mod status;
mod stream;
mod update_memory;
mod watch;
