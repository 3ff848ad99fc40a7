//! The command's file paths checked before any work: every output (`--save` and the
//! checkpoints written to it, `--plot`, `--output`) must be writable where it points, must not
//! be a directory, must say the format it gets (`--plot` is a PNG), and must not name the same
//! file as an input or another output (by device and inode when it exists, else by its
//! canonical directory and name). A run that would only fail after training, or that would
//! overwrite its own model or data, is refused at once.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use wgtrain::{Error, Result};

/// What an output path will hold (which decides the names it may have).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// Any bytes (a model file, a CSV file).
    Any,
    /// A PNG image: the name must end in `.png`.
    Png,
}

/// A path given with a flag.
#[derive(Clone, Copy, Debug)]
pub struct Named<'a> {
    /// The flag (`--save`).
    pub flag: &'static str,
    /// The path given.
    pub path: &'a Path,
}

/// Which file a path names, for comparing two paths.
#[derive(Debug, PartialEq, Eq)]
enum FileId {
    /// An existing file: its device and inode.
    Inode(u64, u64),
    /// A file yet to be written: its canonical directory and its name.
    Path(PathBuf, OsString),
    /// A path that cannot name the same file as anything (unresolvable).
    Unknown,
}

fn file_id(path: &Path) -> FileId {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::metadata(path) {
        return FileId::Inode(m.dev(), m.ino());
    }
    let Ok(target) = wgtrain::io::resolve_links(path) else {
        return FileId::Unknown;
    };
    let (Some(name), dir) = (target.file_name(), directory_of(&target)) else {
        return FileId::Unknown;
    };
    match std::fs::canonicalize(dir) {
        Ok(dir) => FileId::Path(dir, name.to_os_string()),
        Err(_) => FileId::Unknown,
    }
}

/// The directory a file path is in (`.` for a bare name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn refuse(flag: &'static str, detail: String) -> Error {
    Error::InvalidArgument { what: flag, detail }
}

/// Whether a path is written in place rather than replaced (a device, FIFO, socket or the
/// process's own stream): those may be shared (`/dev/null` twice) and need no directory.
fn written_in_place(path: &Path) -> bool {
    wgtrain::io::is_process_stream(path) || std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Checks one output: not a directory, a name that fits its kind, a directory that exists
/// and may be written.
fn check_writable(out: Named, kind: OutputKind) -> Result<()> {
    let Named { flag, path } = out;
    let shown = path.display();
    if path.as_os_str().is_empty() {
        return Err(refuse(flag, "the path is empty".into()));
    }
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(refuse(flag, format!("{shown} is a directory; name a file in it")));
    }
    if written_in_place(path) {
        return Ok(());
    }
    if kind == OutputKind::Png && !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
        return Err(refuse(
            flag,
            format!("{shown}: the plot is a PNG image; give the file a .png name"),
        ));
    }
    let target = wgtrain::io::resolve_links(path).map_err(|e| refuse(flag, format!("{shown}: {e}")))?;
    if target.file_name().is_none() {
        return Err(refuse(flag, format!("{shown} names no file")));
    }
    let dir = directory_of(&target);
    match std::fs::metadata(dir) {
        Err(_) => {
            return Err(refuse(
                flag,
                format!("the directory {} does not exist; create it first", dir.display()),
            ));
        }
        Ok(m) if !m.is_dir() => {
            return Err(refuse(flag, format!("{} is not a directory", dir.display())));
        }
        Ok(_) => {}
    }
    if let Err(e) = may_write_in(dir) {
        return Err(refuse(
            flag,
            format!("the directory {} cannot be written: {e}", dir.display()),
        ));
    }
    Ok(())
}

/// Whether this process may create files in `dir` (permissions, read-only file systems).
fn may_write_in(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())?;
    // SAFETY: `c` is a NUL-terminated path that lives across the call.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Checks every output before any work: each one writable (see [`check_writable`]) and
/// none naming the same file as an input or an earlier output, except the pairs in `replaces`
/// (input flag, output flag): an input read whole before that output is written, which the
/// output may replace on purpose (`--init-from m --save m` continues a model in place).
/// Absent flags are `None`.
pub fn check_outputs(
    inputs: &[(&'static str, Option<&Path>)],
    outputs: &[(&'static str, Option<&Path>, OutputKind)],
    replaces: &[(&str, &str)],
) -> Result<()> {
    let inputs: Vec<Named> = inputs
        .iter()
        .filter_map(|&(flag, p)| p.map(|path| Named { flag, path }))
        .collect();
    let mut seen: Vec<(Named, FileId)> = inputs.iter().map(|n| (*n, file_id(n.path))).collect();
    let n_inputs = seen.len();
    for &(flag, path, kind) in outputs {
        let Some(path) = path else { continue };
        let out = Named { flag, path };
        // Naming an input or another output is the graver mistake: reported first.
        let id = file_id(path);
        if written_in_place(path) && !is_an_input(&seen[..n_inputs], path) {
            check_writable(out, kind)?;
            continue;
        }
        let same = (id != FileId::Unknown)
            .then(|| {
                seen.iter()
                    .position(|(n, o)| *o == id && !replaces.contains(&(n.flag, flag)))
            })
            .flatten();
        if let Some(i) = same {
            let other = seen[i].0;
            let role = if i < n_inputs { "the input" } else { "the output" };
            return Err(refuse(
                flag,
                format!(
                    "{} names the same file as {role} {} ({}); writing it would destroy that file, so give it a path of its own",
                    path.display(),
                    other.flag,
                    other.path.display()
                ),
            ));
        }
        check_writable(out, kind)?;
        seen.push((out, id));
    }
    Ok(())
}

/// Whether a special file is also one of the inputs (a FIFO read and written).
fn is_an_input(inputs: &[(Named, FileId)], path: &Path) -> bool {
    let id = file_id(path);
    inputs.iter().any(|(_, i)| *i == id)
}
