//! Finding 1: `--backend auto` takes the CPU backend over a software adapter (llvmpipe),
//! says so with how to force the GPU, and `--backend gpu` still uses the adapter.

use wgtrain::backend::gpu::list_adapters;

use super::run::{command, last_json, ok, stderr, stdout};

#[test]
fn auto_prefers_the_cpu_backend_over_a_software_adapter() {
    let adapters = list_adapters();
    let o = ok(&["train", "--epochs", "1", "--json"]);
    let j = last_json(&o);
    if adapters.is_empty() {
        assert_eq!(j["backend"], "cpu", "{j}");
        return;
    }
    if adapters.iter().any(|a| !a.software) {
        assert_eq!(j["backend"], "gpu", "a hardware adapter is used: {j}");
        return;
    }
    // Only software adapters: the CPU backend, with the reason and the flag that forces it.
    assert_eq!(j["backend"], "cpu", "{j}");
    let err = stderr(&o);
    assert!(
        err.contains("is a software one") && err.contains("--backend gpu") && err.contains(&adapters[0].name),
        "{err}"
    );
    let info = ok(&["info"]);
    assert!(
        stdout(&info).contains("auto chooses the CPU backend"),
        "{}",
        stdout(&info)
    );

    // `--backend gpu` still trains on it, and so does `auto` when WGTRAIN_ADAPTER names it.
    let o = ok(&["train", "--backend", "gpu", "--epochs", "1", "--json"]);
    assert_eq!(last_json(&o)["backend"], "gpu");
    let o = command()
        .args(["train", "--epochs", "1", "--json"])
        .env("WGTRAIN_ADAPTER", "0")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(last_json(&o)["backend"], "gpu", "{}", stderr(&o));
}
