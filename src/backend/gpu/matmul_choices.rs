//! The matmul tuning's memory: the choices made per adapter, held for the process (so every
//! backend on the adapter agrees and results are reproducible within a run) and in a file
//! beside the pipeline cache (`matmul-tuning-<adapter key>.json`), so a second run measures
//! nothing. The key covers the adapter, its driver, the wgtrain version and the variants'
//! sources: a new driver or a changed kernel tunes afresh. Choices taken by the built-in guess
//! are not written, so a later run measures them. [`TuningSummary`] reads the file without a
//! device, for `wgtrain info`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::matmul_variants::{ChoiceSource, MatmulChoice, MatmulVariant, Selection, ShapeClass};
use super::pipeline_cache::{FNV_START, cache_dir, fnv1a};
use super::{AdapterSummary, GpuContext, Pipeline};
use crate::Result;

/// Format version of the tuning file.
const FILE_VERSION: u32 = 1;

/// Held while the file is written (read, merged, renamed into place).
static SAVING: Mutex<()> = Mutex::new(());

/// The choices made in this process, per adapter key.
pub(super) static CHOICES: Mutex<Option<HashMap<String, HashMap<ShapeClass, MatmulChoice>>>> = Mutex::new(None);

/// Forgets the process's choices (for tests of the tuning file, through
/// `matmul_tuning::reset_for_tests`).
pub(super) fn forget_choices() {
    *CHOICES.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The tuning file.
#[derive(Serialize, Deserialize)]
struct TuningFile {
    version: u32,
    adapter: String,
    choices: Vec<MatmulChoice>,
}

/// The backend's side of the tuning.
pub(super) struct Tuning {
    pub(super) selection: Selection,
    pub(super) available: Vec<MatmulVariant>,
    pub(super) software: bool,
    pub(super) key: String,
    pub(super) adapter: String,
    /// Classes this backend has used, in first-use order.
    pub(super) used: Vec<ShapeClass>,
    /// A variant forced through `GpuBackend::force_matmul_variant`.
    pub(super) forced: Option<MatmulVariant>,
}

impl Tuning {
    /// The tuning of a new backend: the variants its pipelines hold, the selection the
    /// environment asks for, and the choices of earlier runs (from the file).
    pub(super) fn new(ctx: &GpuContext, pipelines: &[Option<Pipeline>]) -> Result<Self> {
        let selection = Selection::from_env()?;
        let info = &ctx.summary;
        // A measurement blocks on read-backs, which a web page cannot do: the built-in guess,
        // except on a software adapter, where it is the tiled kernel: the register kernels'
        // unrolled blocks are more than SwiftShader's compiler can build (in Chromium its GPU
        // process grew past 10 GB and was killed, losing the device), and tiled builds and
        // runs on every browser adapter tried (SwiftShader, lavapipe).
        let selection = match selection {
            Selection::Tune if cfg!(target_arch = "wasm32") && info.software => Selection::Force(MatmulVariant::Tiled),
            Selection::Tune if cfg!(target_arch = "wasm32") => Selection::Default,
            other => other,
        };
        let available = usable(info, |v| pipelines[v.kernel().index()].is_some());
        let tuning = Tuning {
            selection,
            available,
            software: info.software,
            key: adapter_key(info),
            adapter: info.name.clone(),
            used: Vec::new(),
            forced: None,
        };
        if selection == Selection::Tune {
            tuning.load();
        }
        Ok(tuning)
    }

    /// The variants this device can run.
    pub(super) fn available(&self) -> &[MatmulVariant] {
        &self.available
    }

    pub(super) fn file(&self) -> Option<PathBuf> {
        Some(cache_dir()?.join(format!("matmul-tuning-{}.json", self.key)))
    }

    /// Merges the file's choices into the process table (choices made in this process win).
    fn load(&self) {
        let Some(file) = self.file().and_then(|path| read_file(&path)) else {
            return;
        };
        let mut table = CHOICES.lock().unwrap_or_else(|p| p.into_inner());
        let choices = table
            .get_or_insert_with(HashMap::new)
            .entry(self.key.clone())
            .or_default();
        for mut choice in file.choices {
            if self.available.contains(&choice.variant) {
                choice.source = ChoiceSource::Cached;
                choices.entry(choice.class).or_insert(choice);
            }
        }
    }

    /// Writes the process table's choices for this adapter (atomically: a temporary file,
    /// then a rename). A failure only loses the cache.
    pub(super) fn save(&self) {
        let Some(path) = self.file() else { return };
        // One save at a time in the process; the file's entries are merged, not replaced, so
        // a class another backend or process wrote meanwhile stays.
        let _saving = SAVING.lock().unwrap_or_else(|p| p.into_inner());
        let mut merged: BTreeMap<ShapeClass, MatmulChoice> = read_file(&path)
            .map(|f| f.choices.into_iter().map(|c| (c.class, c)).collect())
            .unwrap_or_default();
        {
            let table = CHOICES.lock().unwrap_or_else(|p| p.into_inner());
            let ours = table.as_ref().and_then(|t| t.get(&self.key));
            for choice in ours.into_iter().flat_map(|c| c.values()) {
                if choice.source != ChoiceSource::Default {
                    merged.insert(choice.class, choice.clone());
                }
            }
        }
        let file = TuningFile {
            version: FILE_VERSION,
            adapter: self.adapter.clone(),
            choices: merged.into_values().collect(),
        };
        let Ok(text) = serde_json::to_string_pretty(&file) else {
            return;
        };
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = dir.join(format!(".matmul-tuning-{}-{}.tmp", self.key, std::process::id()));
        if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    pub(super) fn known(&self, class: &ShapeClass) -> Option<MatmulChoice> {
        let table = CHOICES.lock().unwrap_or_else(|p| p.into_inner());
        table.as_ref()?.get(&self.key)?.get(class).cloned()
    }

    pub(super) fn remember(&self, choice: MatmulChoice) {
        let mut table = CHOICES.lock().unwrap_or_else(|p| p.into_inner());
        table
            .get_or_insert_with(HashMap::new)
            .entry(self.key.clone())
            .or_default()
            .insert(choice.class, choice);
    }
}

/// The tuning file at `path`, when it exists, parses and has this format version.
fn read_file(path: &std::path::Path) -> Option<TuningFile> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str::<TuningFile>(&text)
        .ok()
        .filter(|f| f.version == FILE_VERSION)
}

/// The variants of `built` the adapter can run: the subgroup kernel's groups of 8 need
/// subgroups of at least 8 lanes.
fn usable(info: &AdapterSummary, built: impl Fn(MatmulVariant) -> bool) -> Vec<MatmulVariant> {
    MatmulVariant::ALL
        .into_iter()
        .filter(|&v| built(v) && (v != MatmulVariant::Subgroup || info.subgroup_sizes.0 >= 8))
        .collect()
}

/// The tuning file's key: the adapter, its driver, the wgtrain version and the variants'
/// sources.
fn adapter_key(info: &AdapterSummary) -> String {
    let sources = MatmulVariant::ALL.iter().fold(FNV_START, |h, v| {
        fnv1a(h, v.kernel().spec().module_source().text().as_bytes())
    });
    let mut h = sources;
    for part in [&info.name, &info.backend, &info.device_type, &info.driver] {
        h = fnv1a(h, part.as_bytes());
    }
    format!("{:016x}", fnv1a(h, env!("CARGO_PKG_VERSION").as_bytes()))
}

/// What `wgtrain info` says about an adapter's matmul variants, found without opening a
/// device: the variants it can run, the selection the environment asks for, the tuning file
/// and the choices in it.
#[derive(Clone, Debug)]
pub struct TuningSummary {
    /// The variants the adapter can run.
    pub available: Vec<MatmulVariant>,
    /// `WGTRAIN_MATMUL`'s selection (an invalid value is reported as an error by a backend).
    pub selection: Option<Selection>,
    /// The tuning file of this adapter.
    pub file: Option<PathBuf>,
    /// The choices the file holds (empty when there is none yet).
    pub choices: Vec<MatmulChoice>,
}

impl TuningSummary {
    /// The summary of `adapter`.
    pub fn of(adapter: &AdapterSummary) -> Self {
        let has_subgroups = adapter.features.contains(&"subgroups");
        let available = usable(adapter, |v| v != MatmulVariant::Subgroup || has_subgroups);
        let file = cache_dir().map(|d| d.join(format!("matmul-tuning-{}.json", adapter_key(adapter))));
        let choices = file
            .as_deref()
            .and_then(read_file)
            .map(|f| f.choices)
            .unwrap_or_default();
        TuningSummary {
            available,
            selection: Selection::from_env().ok(),
            file,
            choices,
        }
    }
}

impl std::fmt::Display for TuningSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.available.iter().map(|v| v.name()).collect();
        let how = match self.selection {
            Some(Selection::Tune) => "measured per shape class on first use (at most 1 s), then cached".to_string(),
            Some(Selection::Default) => "the built-in guess (WGTRAIN_MATMUL=default)".to_string(),
            Some(Selection::Force(v)) => format!("{v} forced by WGTRAIN_MATMUL"),
            None => "WGTRAIN_MATMUL is invalid: a backend will refuse to open".to_string(),
        };
        writeln!(f, "matmul variants: {} — {how}", names.join(", "))?;
        match &self.file {
            Some(path) if self.choices.is_empty() => write!(f, "  tuning file {} (none yet)", path.display()),
            Some(path) => {
                write!(f, "  tuning file {}:", path.display())?;
                for choice in &self.choices {
                    write!(f, "\n    {choice}")?;
                }
                Ok(())
            }
            None => write!(f, "  no cache directory: tuning is not kept between runs"),
        }
    }
}
