//! The `wgtrain` command on the CSV files people really have (issue 13): the real binary on
//! files each test writes, one module per finding — the backend `auto` picks, the task and
//! its override, the CSV flags, `predict`'s reading and writing, `--init-from` continuing a
//! model file, the notes the command prints, and the README's examples.

mod backend;
mod flags;
mod init_from;
mod notes;
mod predict;
mod readme;
mod run;
mod task;
