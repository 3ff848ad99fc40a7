//! The matrix product's kernel variants and how one is chosen per shape class (issue 12 item
//! 2). Four designs compute the same product (`shaders/matmul_common.wgsl`):
//!
//! - `tiled` (`matmul.wgsl`): shared-memory tiles, 4×4 per invocation — the classic GPU kernel;
//! - `blocked` (`matmul_blocked.wgsl`): 8×8 register blocks, no shared memory or barriers;
//! - `skinny` (`matmul_skinny.wgsl`): a 4×4 block per workgroup with K split across its 64
//!   invocations — for few outputs over a long K (a narrow layer's weight gradient);
//! - `subgroup` (`matmul_subgroup.wgsl`): B shared through subgroup rotations (8 rows × 32
//!   columns per invocation), where the device has `SUBGROUP` with subgroups of 8 or more.
//!
//! Which runs is decided per adapter and [`ShapeClass`] (transpose form and a size bucket per
//! dimension) by a short measured autotune on first use (`matmul_tuning.rs`), kept in memory
//! for the process and on disk beside the pipeline cache, so a second run tunes nothing.
//! `WGTRAIN_MATMUL` overrides it: a variant name forces that variant where it is available,
//! `default` takes the built-in guess without measuring, `auto` (or unset) tunes.

use serde::{Deserialize, Serialize};

use super::kernels::Kernel;

/// Environment variable choosing how matmul variants are picked (see the module docs).
pub const MATMUL_ENV: &str = "WGTRAIN_MATMUL";

/// A design of the matrix-product kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatmulVariant {
    /// Shared-memory tiles.
    Tiled,
    /// Register blocks without shared memory.
    Blocked,
    /// K split across a workgroup.
    Skinny,
    /// B shared through subgroup rotations.
    Subgroup,
}

impl MatmulVariant {
    /// Every variant.
    pub const ALL: [MatmulVariant; 4] = [
        MatmulVariant::Tiled,
        MatmulVariant::Blocked,
        MatmulVariant::Skinny,
        MatmulVariant::Subgroup,
    ];

    /// The variant's name (as `WGTRAIN_MATMUL`, `info` and `bench` spell it).
    pub fn name(self) -> &'static str {
        match self {
            MatmulVariant::Tiled => "tiled",
            MatmulVariant::Blocked => "blocked",
            MatmulVariant::Skinny => "skinny",
            MatmulVariant::Subgroup => "subgroup",
        }
    }

    /// The variant named `name`, if any.
    ///
    /// ```
    /// use wgtrain::backend::gpu::matmul_variants::MatmulVariant;
    /// assert_eq!(MatmulVariant::parse("Blocked"), Some(MatmulVariant::Blocked));
    /// assert_eq!(MatmulVariant::parse("fast"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Its kernel.
    pub fn kernel(self) -> Kernel {
        match self {
            MatmulVariant::Tiled => Kernel::Matmul,
            MatmulVariant::Blocked => Kernel::MatmulBlocked,
            MatmulVariant::Skinny => Kernel::MatmulSkinny,
            MatmulVariant::Subgroup => Kernel::MatmulSubgroup,
        }
    }

    /// The output tile one workgroup computes, (rows, columns): the dispatch is
    /// (ceil(N / columns), ceil(M / rows), layers).
    pub fn tile(self) -> (usize, usize) {
        match self {
            MatmulVariant::Skinny => (4, 4),
            MatmulVariant::Subgroup => (128, 128),
            MatmulVariant::Tiled | MatmulVariant::Blocked => (64, 64),
        }
    }
}

impl std::fmt::Display for MatmulVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The pipeline-overridable constants a matmul kernel is built with (`matmul_common.wgsl`):
/// the transpose form, whether each operand takes vec4 loads, and the epilogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Specialization {
    /// A is stored transposed.
    pub trans_a: bool,
    /// B is stored transposed.
    pub trans_b: bool,
    /// A's offset and contiguous stride are multiples of 4.
    pub a_vec4: bool,
    /// B's offset and contiguous stride are multiples of 4.
    pub b_vec4: bool,
    /// A's stored rows are read through an index.
    pub a_indexed: bool,
    /// The epilogue's `MATMUL_FLAG_*` bits (the uniform's `flags`).
    pub epilogue: u32,
    /// The epilogue's activation code (the uniform's `act`; 0 for a partial-sum kernel,
    /// which applies none).
    pub act: u32,
    /// out (and z where the epilogue touches it) take vec4 stores: N and their offsets are
    /// multiples of 4.
    pub out_vec4: bool,
}

impl Specialization {
    /// The same kernel form with the epilogue the dispatch's uniform `p` asks for.
    pub(crate) fn for_params(self, p: &super::params::MatmulParams) -> Self {
        use super::prelude::{MATMUL_FLAG_DERIV, MATMUL_FLAG_PARTIAL, MATMUL_FLAG_Z};
        let partial = p.flags & MATMUL_FLAG_PARTIAL != 0;
        let z_off = if p.flags & (MATMUL_FLAG_Z | MATMUL_FLAG_DERIV) != 0 {
            p.z_off
        } else {
            0
        };
        Specialization {
            epilogue: p.flags,
            act: if partial { 0 } else { p.act },
            out_vec4: (p.n | p.out_off | z_off).is_multiple_of(4),
            ..self
        }
    }

    /// The constants as wgpu takes them.
    pub fn constants(&self) -> [(&'static str, f64); 8] {
        let f = |b: bool| if b { 1.0 } else { 0.0 };
        [
            ("TRANS_A", f(self.trans_a)),
            ("TRANS_B", f(self.trans_b)),
            ("A_VEC4", f(self.a_vec4)),
            ("B_VEC4", f(self.b_vec4)),
            ("A_INDEXED", f(self.a_indexed)),
            ("EPILOGUE", f64::from(self.epilogue)),
            ("ACT", f64::from(self.act)),
            ("OUT_VEC4", f(self.out_vec4)),
        ]
    }
}

/// The size bucket of one dimension of a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// At most 16.
    Narrow,
    /// 17 to 128.
    Small,
    /// 129 to 1 024.
    Medium,
    /// More than 1 024.
    Large,
}

impl Size {
    /// The bucket of `n`.
    pub fn of(n: usize) -> Self {
        match n {
            0..=16 => Size::Narrow,
            17..=128 => Size::Small,
            129..=1024 => Size::Medium,
            _ => Size::Large,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Size::Narrow => "narrow",
            Size::Small => "small",
            Size::Medium => "medium",
            Size::Large => "large",
        }
    }
}

/// What a variant is chosen for: the transpose form and the size bucket of M (ones rows
/// included), K and N.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ShapeClass {
    /// A is stored transposed.
    pub trans_a: bool,
    /// B is stored transposed.
    pub trans_b: bool,
    /// Rows of the product.
    pub m: Size,
    /// The inner dimension.
    pub k: Size,
    /// Columns of the product.
    pub n: Size,
}

impl ShapeClass {
    /// The class of an [m, k]·[k, n] product in the given form.
    ///
    /// ```
    /// use wgtrain::backend::gpu::matmul_variants::ShapeClass;
    /// let class = ShapeClass::of(129, 128, 10, true, false);
    /// assert_eq!(class.to_string(), "AtB m:medium k:small n:narrow");
    /// ```
    pub fn of(m: usize, k: usize, n: usize, trans_a: bool, trans_b: bool) -> Self {
        ShapeClass {
            trans_a,
            trans_b,
            m: Size::of(m),
            k: Size::of(k),
            n: Size::of(n),
        }
    }

    /// The form's name: AB, ABt, AtB or AtBt.
    pub fn form(&self) -> &'static str {
        match (self.trans_a, self.trans_b) {
            (false, false) => "AB",
            (false, true) => "ABt",
            (true, false) => "AtB",
            (true, true) => "AtBt",
        }
    }

    /// Whether the skinny variant suits the class: few outputs (both sides at most 128) over
    /// a K longer than 128.
    pub fn suits_skinny(&self) -> bool {
        self.m <= Size::Small && self.n <= Size::Small && self.k >= Size::Medium
    }
}

impl std::fmt::Display for ShapeClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} m:{} k:{} n:{}",
            self.form(),
            self.m.name(),
            self.k.name(),
            self.n.name()
        )
    }
}

/// How the variant of a class was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChoiceSource {
    /// Measured in this process.
    Tuned,
    /// Read from the tuning file of an earlier run.
    Cached,
    /// The built-in guess (`WGTRAIN_MATMUL=default`, or the tuning budget was spent).
    Default,
    /// Forced by `WGTRAIN_MATMUL` or `GpuBackend::force_matmul_variant`.
    Forced,
}

/// The variant used for one shape class, and how it was decided.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatmulChoice {
    /// The class.
    pub class: ShapeClass,
    /// The variant that runs.
    pub variant: MatmulVariant,
    /// How it was decided.
    pub source: ChoiceSource,
    /// The measured time of each candidate on the tuning shape, µs (tuned choices only; a
    /// candidate whose result was wrong is left out).
    pub timings_us: Vec<(MatmulVariant, f64)>,
}

impl std::fmt::Display for MatmulChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match self.source {
            ChoiceSource::Tuned => "tuned",
            ChoiceSource::Cached => "cached",
            ChoiceSource::Default => "default",
            ChoiceSource::Forced => "forced",
        };
        write!(f, "{}: {} ({source}", self.class, self.variant)?;
        for (v, us) in &self.timings_us {
            write!(f, "; {v} {us:.0} µs")?;
        }
        f.write_str(")")
    }
}

/// How variants are picked, from `WGTRAIN_MATMUL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Measured on first use, cached.
    Tune,
    /// The built-in guess.
    Default,
    /// Always this variant where it is available.
    Force(MatmulVariant),
}

impl Selection {
    /// The selection a value of `WGTRAIN_MATMUL` asks for (None, empty or `auto`: tune); an
    /// unknown value is an error naming the choices.
    ///
    /// ```
    /// use wgtrain::backend::gpu::matmul_variants::{MatmulVariant, Selection};
    /// assert_eq!(Selection::parse(None).unwrap(), Selection::Tune);
    /// assert_eq!(Selection::parse(Some("skinny")).unwrap(), Selection::Force(MatmulVariant::Skinny));
    /// assert!(Selection::parse(Some("fastest")).is_err());
    /// ```
    pub fn parse(value: Option<&str>) -> crate::Result<Self> {
        let value = value.map(str::trim).unwrap_or("");
        if value.is_empty() || value.eq_ignore_ascii_case("auto") {
            return Ok(Selection::Tune);
        }
        if value.eq_ignore_ascii_case("default") {
            return Ok(Selection::Default);
        }
        MatmulVariant::parse(value)
            .map(Selection::Force)
            .ok_or_else(|| crate::Error::InvalidArgument {
                what: "WGTRAIN_MATMUL",
                detail: format!(
                    "`{value}` is not one of auto, default, {}",
                    MatmulVariant::ALL.map(MatmulVariant::name).join(", ")
                ),
            })
    }

    /// The selection the environment asks for.
    pub fn from_env() -> crate::Result<Self> {
        Self::parse(std::env::var(MATMUL_ENV).ok().as_deref())
    }
}

/// The variants worth trying for `class` among those the device has, best guess first.
pub fn candidates(class: &ShapeClass, available: &[MatmulVariant], software: bool) -> Vec<MatmulVariant> {
    let mut order = if software {
        // A CPU adapter runs a workgroup on one thread: shared memory and barriers cost
        // there, registers do not.
        vec![MatmulVariant::Subgroup, MatmulVariant::Blocked, MatmulVariant::Tiled]
    } else {
        vec![MatmulVariant::Tiled, MatmulVariant::Subgroup, MatmulVariant::Blocked]
    };
    if class.suits_skinny() {
        order.insert(0, MatmulVariant::Skinny);
    }
    order.retain(|v| available.contains(v));
    // Its barriers make the tiled kernel 5–15× slower than the register kernels there (every
    // class measured on lavapipe): timing it would spend the tuning budget on a sure loser.
    if software && order.iter().any(|&v| v != MatmulVariant::Tiled) {
        order.retain(|&v| v != MatmulVariant::Tiled);
    }
    order
}

/// The built-in guess for `class`: the first candidate.
pub fn default_variant(class: &ShapeClass, available: &[MatmulVariant], software: bool) -> MatmulVariant {
    candidates(class, available, software)
        .first()
        .copied()
        .unwrap_or(MatmulVariant::Tiled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_round_trips_its_name() {
        for v in MatmulVariant::ALL {
            assert_eq!(MatmulVariant::parse(v.name()), Some(v));
        }
    }

    #[test]
    fn skinny_is_a_candidate_only_for_few_outputs_over_a_long_k() {
        let all = MatmulVariant::ALL;
        let dw = ShapeClass::of(11, 100_000, 10, true, false);
        assert_eq!(candidates(&dw, &all, true)[0], MatmulVariant::Skinny);
        let wide = ShapeClass::of(1024, 1024, 1024, false, false);
        assert!(!candidates(&wide, &all, true).contains(&MatmulVariant::Skinny));
        let short = ShapeClass::of(8, 8, 8, false, false);
        assert!(!candidates(&short, &all, false).contains(&MatmulVariant::Skinny));
    }

    #[test]
    fn a_missing_variant_is_never_a_candidate() {
        let class = ShapeClass::of(512, 512, 512, false, true);
        let without_subgroups = [MatmulVariant::Tiled, MatmulVariant::Blocked, MatmulVariant::Skinny];
        let got = candidates(&class, &without_subgroups, false);
        assert_eq!(got, vec![MatmulVariant::Tiled, MatmulVariant::Blocked]);
        assert_eq!(default_variant(&class, &[], true), MatmulVariant::Tiled);
    }

    #[test]
    fn a_software_adapter_times_the_tiled_kernel_only_when_nothing_else_runs() {
        let class = ShapeClass::of(512, 512, 512, false, false);
        let all = MatmulVariant::ALL;
        assert_eq!(
            candidates(&class, &all, true),
            vec![MatmulVariant::Subgroup, MatmulVariant::Blocked]
        );
        assert!(candidates(&class, &all, false).contains(&MatmulVariant::Tiled));
        assert_eq!(
            candidates(&class, &[MatmulVariant::Tiled], true),
            vec![MatmulVariant::Tiled]
        );
    }
}
