//! The `wgtrain` command on the GPU backend: the real binary, with `--backend gpu`.

use std::process::Command;

/// `wgtrain train --backend gpu` trains on the adapter and says so in its JSON line.
pub fn gpu_backend_trains_through_the_command() {
    let o = Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .args(["train", "--backend", "gpu", "--epochs", "3", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let last = stdout.lines().last().expect("a JSON line");
    let j: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(j["backend"], "gpu", "{j}");
    assert!(j["train_loss"].as_f64().is_some_and(f64::is_finite), "{j}");
}
