//! Row gathers (including chunked data sets), fills, copies and writes on the GPU against
//! the CPU, in program order.

use std::cell::RefCell;

use super::parity::*;
use crate::common::Rng;
use crate::common::harness::gpu_backend;
use proptest::prelude::*;
use wgtrain::backend::{Backend, GatherRowsOp};

pub fn gather_rows_matches_cpu() {
    let gpu = gpu_backend();
    let gpu = RefCell::new(gpu);
    runner(32)
        .run(
            &(dim(), dim(), 1usize..40, any::<u64>()),
            |(src_rows, cols, out_rows, seed)| {
                let mut rng = Rng::new(seed);
                let src = rng.vec(src_rows * cols, -1.0, 1.0);
                let first = rng.below(5);
                // Mostly valid indices, some past the end (they must give zero rows).
                let idx: Vec<u32> = (0..first + out_rows).map(|_| rng.below(src_rows + 2) as u32).collect();
                let run = |b: &mut dyn Backend| {
                    let (s, i) = (b.upload(src_rows, cols, &src).unwrap(), b.upload_u32(&idx).unwrap());
                    let out = b.zeros(out_rows, cols).unwrap();
                    b.gather_rows(&GatherRowsOp::new(s, i, first, out)).unwrap();
                    // As one chunk of a split set whose rows start at 1: rows outside are kept.
                    let kept = b.upload(out_rows, cols, &vec![7.0; out_rows * cols]).unwrap();
                    b.gather_rows(&GatherRowsOp::new(s, i, first, kept).chunk(1, false))
                        .unwrap();
                    vec![b.read(out).unwrap(), b.read(kept).unwrap()]
                };
                let (g, c) = both(&mut gpu.borrow_mut(), run);
                prop_assert_eq!(&g[0], &c[0]);
                prop_assert_eq!(&g[1], &c[1]);
                for (r, &ix) in idx[first..].iter().enumerate() {
                    let row = &g[1][r * cols..(r + 1) * cols];
                    match (ix as usize).checked_sub(1) {
                        Some(local) if local < src_rows => {
                            prop_assert_eq!(row, &src[local * cols..(local + 1) * cols]);
                        }
                        _ => prop_assert!(row.iter().all(|&v| v == 7.0)),
                    }
                }
                for (r, &ix) in idx[first..].iter().enumerate() {
                    let row = &g[0][r * cols..(r + 1) * cols];
                    if (ix as usize) < src_rows {
                        prop_assert_eq!(row, &src[ix as usize * cols..(ix as usize + 1) * cols]);
                    } else {
                        prop_assert!(row.iter().all(|&v| v == 0.0));
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

pub fn fill_copy_and_write_keep_program_order() {
    let mut gpu = gpu_backend();
    let run = |b: &mut dyn Backend| {
        let a = b.upload(1, 10, &[1.0; 10]).unwrap();
        let c = b.zeros(1, 10).unwrap();
        b.copy(a, c).unwrap();
        // A write after a recorded copy must not reach back in time.
        b.write(a, &[2.0; 10]).unwrap();
        let f = b.zeros(1, 7).unwrap();
        b.fill(f.view(2, 1, 4).unwrap(), 3.5).unwrap();
        let z = b.upload(1, 5, &[9.0; 5]).unwrap();
        b.fill(z, 0.0).unwrap();
        vec![
            b.read(c).unwrap(),
            b.read(a).unwrap(),
            b.read(f).unwrap(),
            b.read(z).unwrap(),
        ]
    };
    let (g, c) = both(&mut gpu, run);
    assert_eq!(g, c);
    assert_eq!(g[0], vec![1.0; 10]);
    assert_eq!(g[2], vec![0.0, 0.0, 3.5, 3.5, 3.5, 3.5, 0.0]);
}
