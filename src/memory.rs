//! How much more host memory this process may use, so that a plan too large for it is an
//! error with the size and the limit before anything is allocated, instead of a kill by the
//! out-of-memory killer with no message.
//!
//! The bound is the smallest of: the cgroup's limit less its usage (cgroup v2 `memory.max` and
//! `memory.current` at every level from this process's cgroup up; cgroup v1
//! `memory.limit_in_bytes` and `memory.usage_in_bytes`), the system's `MemAvailable`, and the
//! address-space limit (`RLIMIT_AS`) less the process's current size (`VmSize`). Each source
//! that cannot be read is left out; with none readable there is no bound (always so in a web
//! page, wasm32, where a failed allocation is the browser's to report).

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A bound on the memory this process may still allocate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryBound {
    /// Bytes.
    pub bytes: u64,
    /// Where the bound comes from (`cgroup memory.max`, `MemAvailable`, `RLIMIT_AS`).
    pub source: String,
}

/// The smallest of the bounds this process can read (see the module header); `None` when
/// none can be read.
pub fn available() -> Option<MemoryBound> {
    // A web page has none of these files (the browser's own limit is not readable).
    if cfg!(target_arch = "wasm32") {
        return None;
    }
    let mut bounds = Vec::new();
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    bounds.extend(cgroup_v2(&cgroups, Path::new("/sys/fs/cgroup")));
    bounds.extend(cgroup_v1(&cgroups, Path::new("/sys/fs/cgroup/memory")));
    if let Some(kib) = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| kib_field(&t, "MemAvailable:"))
    {
        bounds.push(MemoryBound {
            bytes: kib.saturating_mul(1024),
            source: "MemAvailable in /proc/meminfo".into(),
        });
    }
    bounds.extend(address_space());
    bounds.into_iter().min_by_key(|b| b.bytes)
}

/// Fails when `requested` bytes of host memory for `what` exceed [`available`].
///
/// # Errors
/// [`Error::HostMemoryLimit`] with the size, the bound, its source and a suggestion.
pub fn check(what: &str, requested: u64) -> Result<()> {
    match available() {
        Some(bound) if requested > bound.bytes => Err(Error::HostMemoryLimit {
            what: what.to_string(),
            requested,
            limit: bound.bytes,
            bound: bound.source,
        }),
        _ => Ok(()),
    }
}

/// A size for people: `1.5 GiB`, `640 KiB`, `12 bytes`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A `Name:   N kB` field of a `/proc` status file, in KiB.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// A number in a cgroup file (`max` and unreadable files are no limit).
fn number_in(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// cgroup v2: the tightest `memory.max - memory.current` from this process's cgroup (the
/// `0::/path` line of `/proc/self/cgroup`) up to the root of `root`.
fn cgroup_v2(cgroups: &str, root: &Path) -> Option<MemoryBound> {
    let path = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mut dir = root.join(path.trim_start_matches('/'));
    let mut best: Option<MemoryBound> = None;
    loop {
        if let (Some(max), Some(current)) = (
            number_in(&dir.join("memory.max")),
            number_in(&dir.join("memory.current")),
        ) {
            let left = max.saturating_sub(current);
            if best.as_ref().is_none_or(|b| left < b.bytes) {
                best = Some(MemoryBound {
                    bytes: left,
                    source: format!(
                        "cgroup limit {} in {}",
                        human_bytes(max),
                        dir.join("memory.max").display()
                    ),
                });
            }
        }
        if dir == root || !dir.pop() || !dir.starts_with(root) {
            break;
        }
    }
    best
}

/// cgroup v1: `memory.limit_in_bytes - memory.usage_in_bytes` of the `memory` controller's
/// cgroup (a limit near 2^63 is no limit).
fn cgroup_v1(cgroups: &str, root: &Path) -> Option<MemoryBound> {
    let path = cgroups.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers.split(',').any(|c| c == "memory").then_some(path)
    })?;
    let candidates: [PathBuf; 2] = [root.join(path.trim_start_matches('/')), root.to_path_buf()];
    candidates.iter().find_map(|dir| {
        let limit = number_in(&dir.join("memory.limit_in_bytes"))?;
        let usage = number_in(&dir.join("memory.usage_in_bytes"))?;
        (limit < 1 << 62).then(|| MemoryBound {
            bytes: limit.saturating_sub(usage),
            source: format!(
                "cgroup limit {} in {}",
                human_bytes(limit),
                dir.join("memory.limit_in_bytes").display()
            ),
        })
    })
}

/// `RLIMIT_AS` less the process's current virtual size.
#[cfg(unix)]
fn address_space() -> Option<MemoryBound> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    let size = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| kib_field(&t, "VmSize:"))
        .unwrap_or(0)
        .saturating_mul(1024);
    let cur: u64 = limit.rlim_cur;
    Some(MemoryBound {
        bytes: cur.saturating_sub(size),
        source: format!("the address-space limit RLIMIT_AS of {} (ulimit -v)", human_bytes(cur)),
    })
}

#[cfg(not(unix))]
fn address_space() -> Option<MemoryBound> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sources() {
        assert_eq!(
            kib_field("MemTotal: 10 kB\nMemAvailable:   2048 kB\n", "MemAvailable:"),
            Some(2048)
        );
        let dir = tempfile::tempdir().unwrap();
        let leaf = dir.path().join("a/b");
        std::fs::create_dir_all(&leaf).unwrap();
        std::fs::write(dir.path().join("a/memory.max"), "1000\n").unwrap();
        std::fs::write(dir.path().join("a/memory.current"), "400\n").unwrap();
        std::fs::write(leaf.join("memory.max"), "max\n").unwrap();
        std::fs::write(leaf.join("memory.current"), "300\n").unwrap();
        let b = cgroup_v2("0::/a/b\n", dir.path()).unwrap();
        assert_eq!(b.bytes, 600, "the parent's limit binds: {b:?}");
        std::fs::write(leaf.join("memory.limit_in_bytes"), "5000").unwrap();
        std::fs::write(leaf.join("memory.usage_in_bytes"), "1000").unwrap();
        assert_eq!(cgroup_v1("4:memory:/a/b\n", dir.path()).unwrap().bytes, 4000);
        std::fs::write(leaf.join("memory.limit_in_bytes"), "9223372036854771712").unwrap();
        assert_eq!(cgroup_v1("4:memory:/a/b\n", dir.path()), None);
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
