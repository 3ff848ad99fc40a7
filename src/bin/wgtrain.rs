//! The `wgtrain` command-line program (thin: parses arguments, calls the library).

use std::process::ExitCode;

use wgtrain::backend::gpu::list_adapters;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("info") => {
            let adapters = list_adapters();
            if adapters.is_empty() {
                println!("no GPU adapter found: install a Vulkan driver (mesa-vulkan-drivers gives lavapipe)");
            }
            for adapter in adapters {
                println!("{adapter}");
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: wgtrain info");
            ExitCode::from(2)
        }
    }
}
