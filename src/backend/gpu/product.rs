//! Recording a matrix product on the GPU, split over K so no invocation loops too long
//! (`bounds.rs`): a product whose K fits one workgroup layer is one `matmul` dispatch with its
//! epilogue; a longer one writes per-layer partial sums into the backend's scratch and a
//! `matmul_reduce` adds them up and applies the epilogue (in rounds when the scratch cannot
//! hold every layer). The bias gradient is the same product with a ones row. The kernel is
//! the variant chosen for the product's shape class (`matmul_variants.rs`); every variant
//! takes the same uniform and bindings, so only the kernel and the workgroup grid differ.
//! A's stored rows may come through an index (binding 6), and the epilogue may be the
//! derivative one (out = sum ⊙ act′(z), z read), in the direct kernel and in the reduce alike.

use bytemuck::Zeroable;

use super::matmul_variants::{MatmulVariant, Specialization};
use super::params::{MatmulParams, MatmulReduceParams};
use super::prelude::{MATMUL_FLAG_ACCUMULATE, MATMUL_FLAG_BIAS, MATMUL_FLAG_DERIV, MATMUL_FLAG_PARTIAL, MATMUL_FLAG_Z};
use super::{GpuBackend, bounds};
use crate::Result;
use crate::backend::{IndexedRows, Tensor};
use crate::nn::Activation;

/// One product as the kernel sees it: op(A) is [rows, k] with its first `a_rows` rows from A
/// (`None`: none, all ones) and the rest ones; op(B) is [k, n]; out and z are [rows, n].
pub(super) struct Product {
    pub rows: usize,
    pub a_rows: usize,
    pub k: usize,
    pub n: usize,
    /// A and whether it is stored transposed.
    pub a: Option<(Tensor, bool)>,
    /// B and whether it is stored transposed.
    pub b: (Tensor, bool),
    pub bias: Option<Tensor>,
    pub activation: Activation,
    pub out: Tensor,
    /// Receives the pre-activation.
    pub z: Option<Tensor>,
    /// A's stored rows read through an index.
    pub a_index: Option<IndexedRows>,
    /// The derivative epilogue's z (read; `activation` is the derivative's then).
    pub deriv_z: Option<Tensor>,
}

impl Product {
    /// The epilogue's `MATMUL_FLAG_*` bits of a product written whole (not split over K).
    fn epilogue_flags(&self) -> u32 {
        let flag = |on: bool, bit: u32| if on { bit } else { 0 };
        flag(self.bias.is_some(), MATMUL_FLAG_BIAS)
            | flag(self.z.is_some(), MATMUL_FLAG_Z)
            | flag(self.deriv_z.is_some(), MATMUL_FLAG_DERIV)
    }

    /// The pipeline constants of the product's kernel form: whether A and B are transposed,
    /// whether each operand's offset and contiguous stride allow vec4 loads, and whether A goes
    /// through an index (the epilogue comes with each dispatch: [`Specialization::for_params`]).
    pub(super) fn specialization(&self) -> Result<Specialization> {
        let (a, trans_a) = match self.a {
            Some((a, t)) => (Some(a), t),
            None => (None, false),
        };
        let (b, trans_b) = self.b;
        let a_stride = if trans_a { self.a_rows } else { self.k };
        let b_stride = if trans_b { self.k } else { self.n };
        let a_vec4 = match a {
            Some(a) => (super::ops::off(&a)? as usize | a_stride).is_multiple_of(4),
            None => false,
        };
        Ok(Specialization {
            trans_a,
            trans_b,
            a_vec4,
            b_vec4: (super::ops::off(&b)? as usize | b_stride).is_multiple_of(4),
            a_indexed: self.a_index.is_some(),
            epilogue: 0,
            act: 0,
            out_vec4: false,
        })
    }
}

impl GpuBackend {
    /// Records `p` with the variant chosen for its shape class.
    pub(super) fn record_product(&mut self, p: &Product) -> Result<()> {
        let variant = self.matmul_variant(p)?;
        self.record_product_as(p, variant)
    }

    /// Records `p` with `variant`, as one direct dispatch or split-K rounds of two.
    pub(super) fn record_product_as(&mut self, p: &Product, variant: MatmulVariant) -> Result<()> {
        let split = bounds::matmul_split(p.rows, p.k, p.n, self.max_scratch_len())?;
        let flag = |on: bool, bit: u32| if on { bit } else { 0 };
        let epilogue_flags = p.epilogue_flags();
        // z is written (MATMUL_FLAG_Z) or read (MATMUL_FLAG_DERIV) through the same binding.
        let z = p.z.or(p.deriv_z);
        let (a, trans_a) = match p.a {
            Some((a, t)) => (Some(a), t),
            None => (None, false),
        };
        let (b, trans_b) = p.b;
        let base = MatmulParams {
            m: super::ops::u32_of("rows", p.rows)?,
            n: super::ops::u32_of("columns", p.n)?,
            k: super::ops::u32_of("inner dimension", p.k)?,
            trans_a: u32::from(trans_a),
            trans_b: u32::from(trans_b),
            a_off: a.as_ref().map_or(Ok(0), super::ops::off)?,
            b_off: super::ops::off(&b)?,
            bias_off: p.bias.as_ref().map_or(Ok(0), super::ops::off)?,
            out_off: super::ops::off(&p.out)?,
            z_off: z.as_ref().map_or(Ok(0), super::ops::off)?,
            flags: epilogue_flags,
            act: p.activation.code(),
            alpha: p.activation.alpha(),
            a_rows: p.a_rows as u32,
            k_chunk: split.k_chunk,
            k_base: 0,
            a_indexed: u32::from(p.a_index.is_some()),
            index_off: match &p.a_index {
                Some(i) => super::ops::u32_of("first index", super::ops::off(&i.indices)? as usize + i.first)?,
                None => 0,
            },
            row_base: super::ops::u32_of("chunk's first row", p.a_index.map_or(0, |i| i.row_base))?,
            a_src_rows: super::ops::u32_of("rows of A", a.map_or(0, |a| a.rows))?,
        };
        let kernel = variant.kernel();
        let form = p.specialization()?;
        let (tile_rows, tile_cols) = variant.tile();
        let tiles = (p.n.div_ceil(tile_cols) as u32, p.rows.div_ceil(tile_rows) as u32);
        let a_storage = a.map(|a| a.storage);
        let index_storage = p.a_index.map(|i| i.indices.storage);
        if split.direct() {
            let storages = [
                a_storage,
                Some(b.storage),
                p.bias.map(|t| t.storage),
                Some(p.out.storage),
                z.map(|t| t.storage),
                index_storage,
            ];
            let specialization = Some(form.for_params(&base));
            return self.dispatch_kernel(kernel, specialization, &base, &storages, (tiles.0, tiles.1, 1));
        }
        let scratch = self.scratch(split.scratch_len(p.rows, p.n))?;
        let len = p.rows * p.n;
        for round in 0..split.rounds {
            let first_layer = round * split.layers;
            let layers = split.layers.min(split.total_layers - first_layer);
            let partial = MatmulParams {
                k_base: first_layer * split.k_chunk,
                flags: MATMUL_FLAG_PARTIAL,
                out_off: super::ops::off(&scratch)?,
                bias_off: 0,
                z_off: 0,
                ..base
            };
            let storages = [
                a_storage,
                Some(b.storage),
                None,
                Some(scratch.storage),
                None,
                index_storage,
            ];
            let specialization = Some(form.for_params(&partial));
            self.dispatch_kernel(kernel, specialization, &partial, &storages, (tiles.0, tiles.1, layers))?;
            let last = round + 1 == split.rounds;
            let reduce = MatmulReduceParams {
                len: super::ops::u32_of("product elements", len)?,
                n: base.n,
                layers,
                flags: flag(round > 0, MATMUL_FLAG_ACCUMULATE)
                    | if last { epilogue_flags } else { MATMUL_FLAG_PARTIAL },
                act: base.act,
                alpha: base.alpha,
                partial_off: partial.out_off,
                bias_off: base.bias_off,
                out_off: base.out_off,
                z_off: base.z_off,
                ..Zeroable::zeroed()
            };
            let storages = [
                Some(scratch.storage),
                p.bias.map(|t| t.storage),
                Some(p.out.storage),
                z.map(|t| t.storage),
            ];
            let groups = self.linear_groups(len);
            self.dispatch(&reduce, &storages, groups)?;
        }
        Ok(())
    }
}
