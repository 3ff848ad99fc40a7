//! File writing that never leaves a half-written file behind and never damages what a path
//! points at.
//!
//! A regular file (or a path that does not exist yet) is replaced atomically: the bytes go to
//! a temporary file in the target's own directory, are flushed to disk, and the temporary file
//! is renamed over the target, so a crash leaves the old file or the new one, never a torn one.
//! Around that rename:
//!
//! - a symlink is followed (the file it names is replaced, the link stays a link);
//! - the old file's permissions (and owner, where the process may set it) are kept;
//! - a character device, FIFO or socket (`/dev/null`, a pipe, a terminal) and the process's
//!   own streams (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`) are written in place, never
//!   replaced;
//! - the temporary file has no name while it is written (Linux `O_TMPFILE`), so a process
//!   killed mid-write leaves nothing behind; where that is not available it gets a short name
//!   (within the 255-byte limit) that carries the writer's process id, and the next write to
//!   the same target removes those of processes that no longer run.

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// Environment variable that makes [`write_atomic`] abort the process after writing the
/// temporary file and before renaming it (used by the crash test; never set it otherwise).
pub const ABORT_BEFORE_RENAME_ENV: &str = "WGTRAIN_FAULT_ABORT_BEFORE_RENAME";

/// Environment variable that makes [`write_atomic`] use a named temporary file even where an
/// unnamed one is possible (so the tests reach that path; never set it otherwise).
pub const NAMED_TEMP_ENV: &str = "WGTRAIN_FAULT_NAMED_TEMP";

/// Distinguishes temporary files of concurrent writes within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The longest file name most file systems take, in bytes.
const NAME_MAX: usize = 255;

/// Symlinks followed before giving up (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Writes `bytes` to `path`: atomically replacing a regular file (see the module header),
/// in place for a device, FIFO or the process's own stream.
///
/// # Errors
/// [`Error::Io`] naming `path` when the directory is missing or not writable, `path` is a
/// directory or names no file, or the write fails; no temporary file is left behind then.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_io(path, bytes).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// [`write_atomic`] with a plain I/O error.
pub fn write_atomic_io(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A web page has no file system (and no process id for a temporary name): say so before
    // anything tries.
    if cfg!(target_arch = "wasm32") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "a web page has no file system: keep the bytes instead (ModelFile::to_bytes)",
        ));
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return Err(std::io::Error::other("it is a directory, not a file")),
        Ok(m) if !m.is_file() || is_process_stream(path) => return write_in_place(path, bytes),
        _ => {}
    }
    replace(&resolve_links(path)?, bytes)
}

/// Whether `path` names one of the process's own streams, which must be written through and
/// not replaced even when the stream is a regular file (`> out.csv`).
pub fn is_process_stream(path: &Path) -> bool {
    [
        "/dev/stdout",
        "/dev/stderr",
        "/dev/fd/",
        "/proc/self/fd/",
        "/proc/thread-self/fd/",
    ]
    .iter()
    .any(|p| path.starts_with(p) || path.as_os_str() == OsStr::new(p.trim_end_matches('/')))
}

/// Writes into an existing special file (appending, which is what a device, FIFO or a
/// redirected stream expects).
fn write_in_place(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new().append(true).open(path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// The path a chain of symlinks ends at (which may not exist yet).
pub fn resolve_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(std::io::Error::other(format!(
        "more than {MAX_LINKS} symbolic links to follow"
    )))
}

/// Replaces the regular file (or nothing) at `target` through a temporary file.
fn replace(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = target
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file"))?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let old = std::fs::metadata(target).ok().filter(|m| m.is_file());
    let prefix = temp_prefix(name);
    remove_orphans(dir, &prefix);
    let unnamed = if std::env::var_os(NAMED_TEMP_ENV).is_some() {
        None
    } else {
        unnamed_file(dir)
    };
    // The name the temporary file has, once it has one (removed again on failure).
    let mut named: Option<PathBuf> = None;
    let result = (|| {
        let mut f = match unnamed {
            Some(f) => f,
            None => {
                let (f, temp) = claim_name(dir, &prefix, |p| File::create_new(p))?;
                named = Some(temp);
                f
            }
        };
        f.write_all(bytes)?;
        if let Some(old) = &old {
            keep_owner_and_mode(&f, old);
        }
        f.sync_all()?;
        // Fault injection for the crash test: die between writing and renaming.
        if std::env::var_os(ABORT_BEFORE_RENAME_ENV).is_some() {
            std::process::abort();
        }
        let temp = match &named {
            Some(temp) => temp.clone(),
            None => {
                let ((), temp) = claim_name(dir, &prefix, |p| give_name(&f, p))?;
                named = Some(temp.clone());
                temp
            }
        };
        std::fs::rename(&temp, target)?;
        named = None;
        // The rename is durable once the directory is; a failure here loses nothing written.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Some(temp) = named {
        let _ = std::fs::remove_file(temp);
    }
    result
}

/// Runs `create` on `{prefix}{pid}-{n}.tmp` names in `dir` until one does not exist yet.
fn claim_name<T>(
    dir: &Path,
    prefix: &OsStr,
    mut create: impl FnMut(&Path) -> std::io::Result<T>,
) -> std::io::Result<(T, PathBuf)> {
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = prefix.to_os_string();
        name.push(format!("{}-{n}.tmp", std::process::id()));
        let path = dir.join(name);
        match create(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
            Ok(t) => return Ok((t, path)),
        }
    }
}

/// `.{name}.` cut so that the temporary name (with `{pid}-{counter}.tmp`, at most 35 more
/// bytes) stays within [`NAME_MAX`].
fn temp_prefix(name: &OsStr) -> OsString {
    let text = name.to_string_lossy();
    let mut cut = text.len().min(NAME_MAX - 2 - 35);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    OsString::from(format!(".{}.", &text[..cut]))
}

/// Removes temporary files `{prefix}{pid}-{n}.tmp` left by writers of the same target that
/// were killed (their process no longer runs). Best effort.
fn remove_orphans(dir: &Path, prefix: &OsStr) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = prefix.as_encoded_bytes();
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = file.as_encoded_bytes().strip_prefix(prefix) else {
            continue;
        };
        let Some(id) = rest.strip_suffix(b".tmp") else {
            continue;
        };
        let Some(pid) = std::str::from_utf8(id)
            .ok()
            .and_then(|s| s.split_once('-'))
            .and_then(|(pid, n)| n.parse::<u64>().ok().and(pid.parse::<u32>().ok()))
        else {
            continue;
        };
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        if regular && pid != std::process::id() && !process_runs(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this id runs (on this machine's process table).
#[cfg(unix)]
fn process_runs(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for the process; it sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Without a way to ask, a process is assumed to run (nothing is removed).
#[cfg(not(unix))]
fn process_runs(_pid: u32) -> bool {
    true
}

/// An unnamed file in `dir` (Linux `O_TMPFILE`), when the file system and `/proc` allow
/// giving it a name later.
#[cfg(target_os = "linux")]
fn unnamed_file(dir: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    if !Path::new("/proc/self/fd").is_dir() {
        return None;
    }
    OpenOptions::new()
        .write(true)
        .mode(0o666)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn unnamed_file(_dir: &Path) -> Option<File> {
    None
}

/// Links an unnamed file into its directory under `name`.
#[cfg(target_os = "linux")]
fn give_name(f: &File, name: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::io::AsRawFd;
    let from = std::ffi::CString::new(format!("/proc/self/fd/{}", f.as_raw_fd()))?;
    let to = std::ffi::CString::new(name.as_os_str().as_bytes())?;
    // SAFETY: both paths are NUL-terminated strings that live across the call.
    let r = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn give_name(_f: &File, _name: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("unnamed files are not supported here"))
}

/// Gives the new file the old one's mode and (where permitted) owner. Best effort: a file
/// that keeps the process's defaults is still correct data.
#[cfg(unix)]
fn keep_owner_and_mode(f: &File, old: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    let _ = f.set_permissions(old.permissions());
    if let Ok(now) = f.metadata()
        && (now.uid() != old.uid() || now.gid() != old.gid())
    {
        let _ = std::os::unix::fs::fchown(f, Some(old.uid()), Some(old.gid()));
        // chown may clear set-id bits: set the mode again.
        let _ = f.set_permissions(old.permissions());
    }
}

#[cfg(not(unix))]
fn keep_owner_and_mode(f: &File, old: &std::fs::Metadata) {
    let _ = f.set_permissions(old.permissions());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_fit_the_name_limit() {
        let long = "m".repeat(250);
        let prefix = temp_prefix(OsStr::new(&long));
        let full = format!("{}{}-{}.tmp", prefix.to_string_lossy(), u32::MAX, u64::MAX);
        assert!(full.len() <= NAME_MAX, "{} bytes", full.len());
        let accented = "é".repeat(120);
        let prefix = temp_prefix(OsStr::new(&accented));
        assert!(prefix.to_str().is_some(), "cut at a character boundary");
    }

    #[test]
    fn orphans_of_dead_writers_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join(format!(".m.safetensors.{}-0.tmp", u32::MAX - 7));
        let alive = dir
            .path()
            .join(format!(".m.safetensors.{}-0.tmp", std::os::unix::process::parent_id()));
        let other = dir.path().join(".x.safetensors.1-0.tmp");
        for p in [&dead, &alive, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        write_atomic_io(&dir.path().join("m.safetensors"), b"new").unwrap();
        assert!(!dead.exists() && alive.exists() && other.exists());
    }
}
