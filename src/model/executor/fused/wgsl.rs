//! The fused kernel's WGSL, generated from a [`Design`] at one [`Layout`]: one workgroup that,
//! for each step of the dispatch's range, gathers the batch through the epoch's permutation,
//! runs the forward pass, the loss with its gradient and the metrics, the backward pass and
//! the optimizer update over every parameter, with barriers between the phases; the metric
//! sums stay in registers and are reduced once at the end of the dispatch into the status
//! buffer (laid out as the metric accumulator), followed by the number of steps completed.
//!
//! Widths, offsets, activation, loss and accuracy codes, dropout rates and seeds are constants
//! of the module (floats as round-trip f32 literals); the per-row loss functions are in
//! `rows.rs`. The optimizer's hyper-parameters and learning-rate schedule come in the optimizer
//! kernel's own `Params` uniform, evaluated by its own `scheduled_learning_rate`, and each
//! parameter is updated by its own `update`, all taken from `shaders/optimizer_step.wgsl`, so
//! the two kernels cannot drift. The formulas are those of
//! `loss.wgsl` (loss, gradient and metrics), `softmax*.wgsl`, `dropout.wgsl` and
//! `optimizer_step.wgsl` (the CPU reference is `src/nn/`). Adam's bias corrections come from a
//! per-step table the host computes as the CPU does (a GPU `pow` is too coarse near 1).
//!
//! A batch too large for one workgroup's memory is split over `slices` workgroups: the same
//! step over each workgroup's rows writes partial gradients (and metric sums) to a `partial`
//! buffer, and a second entry point (`fused_reduce`) sums them and applies the optimizer: two
//! dispatches per step.
//!
//! Bindings: 0 uniform Run; 1 uniform Params (the optimizer's); then storages x, y, weights,
//! order (read), param, grad (read_write), the optimizer state bindings present (s0..s2),
//! partial (split steps only), status (read_write). Dispatch: (1, 1, 1), or (slices, 1, 1)
//! then ceil(parameters / 64) workgroups of `fused_reduce`.

use std::fmt::Write;

use super::design::{Design, Layout, Stage};
use super::rows::{DROPOUT_MASK, score_row};
use crate::backend::gpu::kernels::{ACTIVATION_LIBRARY, Access, Kernel, ModuleSource};
use crate::backend::gpu::prelude;
use crate::backend::metric_slot;
use crate::nn::Activation;

/// The entry point's name.
pub(crate) const ENTRY_POINT: &str = "fused_train";

/// The reduce-and-update entry point of a step split over workgroups.
pub(crate) const REDUCE_ENTRY_POINT: &str = "fused_reduce";

/// Invocations per workgroup of the reduce-and-update dispatch (one per parameter).
pub(crate) const REDUCE_WORKGROUP: u32 = 64;

/// A float constant as an f32 literal: Rust's shortest round-trip form, which naga parses
/// back to the same f32 (the `f` suffix makes it a concrete f32, not an abstract float).
pub(crate) fn f(v: f32) -> String {
    format!("{v:?}f")
}

/// A part of `optimizer_step.wgsl`: from `start` up to (not including) `end`.
pub(crate) fn optimizer_part(start: &str, end: &str) -> Option<&'static str> {
    let text = Kernel::OptimizerStep.spec().wgsl;
    let from = text.find(start)?;
    let to = from + text[from..].find(end)?;
    Some(&text[from..to])
}

/// The optimizer's `Params` struct, its schedule functions and its per-parameter `update`
/// (`schedule_has` … the entry point), taken from its kernel.
fn optimizer_library() -> (&'static str, &'static str) {
    let params = optimizer_part("struct Params {", "@group(0)").expect("optimizer_step.wgsl declares Params first");
    let schedule = optimizer_part("fn schedule_has(", "@compute")
        .expect("optimizer_step.wgsl defines its schedule and update before the entry point");
    (params, schedule)
}

/// Storage bindings of the kernel, in order (after the two uniforms).
pub(crate) fn storages(design: &Design, layout: &Layout) -> Vec<(&'static str, Access)> {
    let mut s = vec![
        ("data_x", Access::Read),
        ("data_y", Access::Read),
        ("data_w", Access::Read),
        ("order", Access::Read),
        ("param", Access::ReadWrite),
        ("grad", Access::ReadWrite),
    ];
    for (i, name) in ["s0", "s1", "s2"].into_iter().enumerate() {
        if design.state_bindings[i] {
            s.push((name, Access::ReadWrite));
        }
    }
    if layout.slices > 1 {
        s.push(("partial", Access::ReadWrite));
    }
    s.push(("status", Access::ReadWrite));
    s
}

/// Where a stage's values live in workgroup memory.
#[derive(Clone, Copy)]
struct Slots {
    /// The input slot (of width `inputs`).
    input: usize,
    z: usize,
    y: usize,
}

/// The complete module.
pub(crate) fn module(design: &Design, layout: &Layout, adam_table: bool) -> ModuleSource {
    let (params_struct, schedule) = optimizer_library();
    let mut source = ModuleSource::new("fused_train");
    source.push("generated prelude", prelude::wgsl());
    source.push("shaders/activation.wgsl", ACTIVATION_LIBRARY);
    source.push("shaders/optimizer_step.wgsl (Params)", params_struct);
    source.push("generated fused bindings", &bindings(design, layout));
    source.push("shaders/optimizer_step.wgsl (schedule and update)", schedule);
    source.push("generated fused step", &body(design, layout, adam_table));
    source
}

fn bindings(design: &Design, layout: &Layout) -> String {
    let mut s = String::new();
    s.push_str(
        "// The dispatch's range: rows of the epoch, its first step (within the epoch), how many\n\
         // steps, and the optimizer steps taken before the epoch.\n\
         // weighted: the per-row sample weights are bound; table_first: the optimizer step of\n\
         // the first entry of Adam's bias-correction table.\n\
         struct Run {\n    rows: u32,\n    first_step: u32,\n    steps: u32,\n    step_base: u32,\n    \
         weighted: u32,\n    table_first: u32,\n    _pad0: u32,\n    _pad1: u32,\n}\n\n",
    );
    s.push_str("@group(0) @binding(0) var<uniform> run: Run;\n");
    s.push_str("@group(0) @binding(1) var<uniform> p: Params;\n");
    for (i, (name, access)) in storages(design, layout).iter().enumerate() {
        let (ty, mode) = match (*name, access) {
            ("order", _) => ("array<u32>", "read"),
            (_, Access::Read) => ("array<f32>", "read"),
            (_, Access::ReadWrite) => ("array<f32>", "read_write"),
        };
        let _ = writeln!(s, "@group(0) @binding({}) var<storage, {mode}> {name}: {ty};", i + 2);
    }
    let _ = writeln!(s, "\nvar<workgroup> mem: array<f32, {}>;", layout.memory_floats);
    s.push_str("var<private> sums: array<f32, METRIC_SLOTS_USED>;\n");
    // State accessors over the bindings present (the optimizer_step kernel's `state`).
    s.push_str("\nfn state(slot: u32, i: u32) -> f32 {\n    switch slot {\n");
    for (k, present) in design.state_bindings.iter().enumerate() {
        if *present {
            let _ = writeln!(s, "        case {k}u: {{ return s{k}[p.s{k}_off + i]; }}");
        }
    }
    s.push_str("        default: { return 0.0; }\n    }\n}\n\n");
    s.push_str("fn set_state(slot: u32, i: u32, v: f32) {\n    switch slot {\n");
    for (k, present) in design.state_bindings.iter().enumerate() {
        if *present {
            let _ = writeln!(s, "        case {k}u: {{ s{k}[p.s{k}_off + i] = v; }}");
        }
    }
    s.push_str("        default: {}\n    }\n}\n\nfn has(flag: u32) -> bool {\n    return (p.flags & flag) != 0u;\n}\n");
    s
}

/// `for (var e = lid; e < n; e += WG) { body }` over the batch's elements.
fn each(out: &mut String, n: &str, body: &str) {
    let _ = writeln!(out, "        for (var e = lid; e < {n}; e += WG) {{\n{body}        }}");
}

const BARRIER: &str = "        workgroupBarrier();\n";

/// Rows (forward, dx) or kernel rows (dW) one invocation computes together, so each weight or
/// gradient value it loads serves that many products (and loops run that many times less).
pub(crate) const ROW_BLOCK: usize = 4;

fn body(design: &Design, layout: &Layout, adam_table: bool) -> String {
    let mut s = String::new();
    let wg = layout.workgroup;
    // Workgroup memory holds the rows one workgroup takes (the whole batch, or its slice).
    let b = layout.slice_rows;
    let sliced = layout.slices > 1;
    // Where dW and db go: the gradient buffer, or this workgroup's partial of a split step.
    let gout = if sliced {
        "partial[wid.x * PARAMS + "
    } else {
        "grad[p.grad_off + "
    };
    let input = design.input;
    let _ = writeln!(
        s,
        "const WG: u32 = {wg}u;\nconst BATCH: u32 = {}u;\nconst SLICE: u32 = {b}u;\nconst SLICES: u32 = {}u;\nconst IN: u32 = {input}u;",
        layout.batch, layout.slices
    );
    let _ = writeln!(s, "const PARAMS: u32 = {}u;", design.parameters);
    let _ = writeln!(s, "const STATUS_TABLE: u32 = {}u;", metric_slot::COUNT);
    s.push_str(DROPOUT_MASK);

    // Slots of every stage.
    let mut next = b * input;
    let mut current = 0usize; // the slot holding the current values
    let mut slots = Vec::new();
    for stage in &design.stages {
        match *stage {
            Stage::Dense { units, activation, .. } => {
                let z = next;
                next += b * units;
                let y = if activation == Activation::Linear {
                    z
                } else {
                    next += b * units;
                    z + b * units
                };
                slots.push(Slots { input: current, z, y });
                current = y;
            }
            Stage::Dropout { .. } => slots.push(Slots {
                input: current,
                z: current,
                y: current,
            }),
        }
    }
    let last_dense = design
        .stages
        .iter()
        .rposition(|s| matches!(s, Stage::Dense { .. }))
        .expect("a model has a Dense layer");
    let (pred, grad_slot) = match design.stages[last_dense] {
        Stage::Dense {
            activation: Activation::Softmax,
            ..
        } => (slots[last_dense].y, slots[last_dense].z),
        _ => (slots[last_dense].y, slots[last_dense].y),
    };
    s.push_str(&score_row(design, pred, grad_slot));

    let _ = write!(
        s,
        r#"
@compute @workgroup_size({wg}, 1, 1)
fn {ENTRY_POINT}(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {{
    for (var q = 0u; q < METRIC_SLOTS_USED; q++) {{
        sums[q] = 0.0;
    }}
    var done = 0u;
    for (var s = 0u; s < run.steps; s++) {{
        let step_index = run.first_step + s;
        // The step's rows, and the slice of them this workgroup takes (all, unsplit).
        let batch_rows = min(BATCH, run.rows - step_index * BATCH);
        let skip = wid.x * SLICE;
        let first = step_index * BATCH + skip;
        let rows = select(0u, min(SLICE, batch_rows - skip), batch_rows > skip);
        // The optimizer step (from 1), which also draws the dropout masks.
        let t = run.step_base + step_index + 1u;
        let lr = scheduled_learning_rate(t - 1u);
"#
    );
    if adam_table {
        s.push_str(
            "        let entry = STATUS_TABLE + 2u * (t - run.table_first);\n        let bias = vec2<f32>(status[entry], status[entry + 1u]);\n",
        );
    } else {
        s.push_str("        let bias = vec2<f32>(1.0, 1.0);\n");
    }
    // Gather.
    each(
        &mut s,
        "rows * IN",
        "            mem[e] = data_x[order[first + e / IN] * IN + e % IN];\n",
    );
    s.push_str(BARRIER);
    // Forward.
    for (stage, slot) in design.stages.iter().zip(&slots) {
        match *stage {
            Stage::Dense {
                inputs,
                units,
                activation,
                bias,
                offset,
            } => {
                let bias_term = if bias {
                    format!(" + param[{}u + j]", offset + inputs * units)
                } else {
                    String::new()
                };
                let store = |z_at: &str| match activation {
                    Activation::Linear | Activation::Softmax => format!("mem[{}u + {z_at}] = z;", slot.z),
                    a => format!(
                        "mem[{}u + {z_at}] = z; mem[{}u + {z_at}] = activate({}u, {}, z);",
                        slot.z,
                        slot.y,
                        a.code(),
                        f(a.alpha())
                    ),
                };
                let r = ROW_BLOCK.min(layout.slice_rows);
                let mut body =
                    format!("            let r0 = (e / {units}u) * {r}u;\n            let j = e % {units}u;\n");
                let accs: Vec<String> = (0..r).map(|q| format!("a{q}")).collect();
                for (q, a) in accs.iter().enumerate() {
                    let _ = writeln!(
                        body,
                        "            var {a} = 0.0;\n            let x{q} = {input}u + min(r0 + {q}u, SLICE - 1u) * {inputs}u;",
                        input = slot.input
                    );
                }
                let _ = writeln!(
                    body,
                    "            for (var k = 0u; k < {inputs}u; k++) {{\n                let w = param[{offset}u + k * {units}u + j];"
                );
                for (q, a) in accs.iter().enumerate() {
                    let _ = writeln!(body, "                {a} += mem[x{q} + k] * w;");
                }
                body.push_str("            }\n");
                for (q, a) in accs.iter().enumerate() {
                    let _ = writeln!(
                        body,
                        "            if (r0 + {q}u < rows) {{\n                let z = {a}{bias_term};\n                {}\n            }}",
                        store(&format!("(r0 + {q}u) * {units}u + j"))
                    );
                }
                each(&mut s, &format!("((rows + {}u) / {r}u) * {units}u", r - 1), &body);
                s.push_str(BARRIER);
                if activation == Activation::Softmax {
                    // softmax.wgsl by rows: z -> y.
                    let _ = write!(
                        s,
                        "        for (var row = lid; row < rows; row += WG) {{\n            let zb = {z}u + row * {units}u;\n            let yb = {y}u + row * {units}u;\n            \
                         var m = mem[zb];\n            for (var j = 1u; j < {units}u; j++) {{\n                m = max(m, mem[zb + j]);\n            }}\n            \
                         var sum = 0.0;\n            for (var j = 0u; j < {units}u; j++) {{\n                let ez = exp(mem[zb + j] - m);\n                mem[yb + j] = ez;\n                sum += ez;\n            }}\n            \
                         let inv = 1.0 / sum;\n            for (var j = 0u; j < {units}u; j++) {{\n                mem[yb + j] *= inv;\n            }}\n        }}\n",
                        z = slot.z,
                        y = slot.y
                    );
                    s.push_str(BARRIER);
                }
            }
            Stage::Dropout { width, rate, seed } if rate > 0.0 => {
                each(
                    &mut s,
                    &format!("rows * {width}u"),
                    &format!(
                        "            mem[{at}u + e] = mem[{at}u + e] * keep({seed}u, t, e + skip * {width}u, {r}) / (1.0 - {r});\n",
                        at = slot.input,
                        r = f(rate)
                    ),
                );
                s.push_str(BARRIER);
            }
            Stage::Dropout { .. } => {}
        }
    }
    // Loss, gradient and metrics by rows.
    s.push_str(
        "        for (var row = lid; row < rows; row += WG) {\n            let src = order[first + row];\n            \
         score_row(row, src, batch_rows);\n        }\n",
    );
    s.push_str(BARRIER);
    // Backward.
    let first_dense = design
        .stages
        .iter()
        .position(|s| matches!(s, Stage::Dense { .. }))
        .expect("a model has a Dense layer");
    for (index, (stage, slot)) in design.stages.iter().zip(&slots).enumerate().rev() {
        match *stage {
            Stage::Dense {
                inputs,
                units,
                activation,
                bias,
                offset,
            } => {
                // dz into the z slot.
                let dz = match activation {
                    Activation::Linear => slot.y,
                    Activation::Softmax => {
                        let _ = write!(
                            s,
                            "        for (var row = lid; row < rows; row += WG) {{\n            let yb = {y}u + row * {units}u;\n            let gb = {z}u + row * {units}u;\n            \
                             var dot = 0.0;\n            for (var j = 0u; j < {units}u; j++) {{\n                dot += mem[gb + j] * mem[yb + j];\n            }}\n            \
                             for (var j = 0u; j < {units}u; j++) {{\n                mem[gb + j] = mem[yb + j] * (mem[gb + j] - dot);\n            }}\n        }}\n",
                            y = slot.y,
                            z = slot.z
                        );
                        s.push_str(BARRIER);
                        slot.z
                    }
                    a => {
                        each(
                            &mut s,
                            &format!("rows * {units}u"),
                            &format!(
                                "            mem[{z}u + e] = mem[{y}u + e] * activate_derivative({code}u, {alpha}, mem[{z}u + e]);\n",
                                z = slot.z,
                                y = slot.y,
                                code = a.code(),
                                alpha = f(a.alpha())
                            ),
                        );
                        s.push_str(BARRIER);
                        slot.z
                    }
                };
                // dW = inᵀ·dz (R kernel rows per invocation, sharing each dz load) and
                // db = Σ_rows dz, into the gradient buffer.
                let rk = ROW_BLOCK.min(inputs);
                let k_blocks = inputs.div_ceil(rk);
                let blocked = k_blocks * units;
                let mut body = format!(
                    "            if (e < {blocked}u) {{\n                let kb = (e / {units}u) * {rk}u;\n                let j = e % {units}u;\n"
                );
                for q in 0..rk {
                    let _ = writeln!(
                        body,
                        "                var a{q} = 0.0;\n                let k{q} = min(kb + {q}u, {last}u);",
                        last = inputs - 1
                    );
                }
                let _ = writeln!(
                    body,
                    "                for (var row = 0u; row < rows; row++) {{\n                    let d = mem[{dz}u + row * {units}u + j];\n                    let xb = {input}u + row * {inputs}u;",
                    input = slot.input
                );
                for q in 0..rk {
                    let _ = writeln!(body, "                    a{q} += mem[xb + k{q}] * d;");
                }
                body.push_str("                }\n");
                for q in 0..rk {
                    let _ = writeln!(
                        body,
                        "                if (kb + {q}u < {inputs}u) {{\n                    {gout}{offset}u + (kb + {q}u) * {units}u + j] = a{q};\n                }}"
                    );
                }
                if bias {
                    let _ = writeln!(
                        body,
                        "            }} else {{\n                let j = e - {blocked}u;\n                var acc = 0.0;\n                \
                         for (var row = 0u; row < rows; row++) {{\n                    acc += mem[{dz}u + row * {units}u + j];\n                }}\n                \
                         {gout}{bias_at}u + j] = acc;",
                        bias_at = offset + inputs * units
                    );
                }
                body.push_str("            }\n");
                let bias_len = if bias { units } else { 0 };
                each(&mut s, &format!("{}u", blocked + bias_len), &body);
                if index > first_dense {
                    s.push_str(BARRIER);
                    // dx = dz·Wᵀ over the input slot (dW has read it), R rows per invocation
                    // sharing each weight load.
                    let r = ROW_BLOCK.min(layout.slice_rows);
                    let mut body =
                        format!("            let r0 = (e / {inputs}u) * {r}u;\n            let k = e % {inputs}u;\n");
                    for q in 0..r {
                        let _ = writeln!(
                            body,
                            "            var a{q} = 0.0;\n            let d{q} = {dz}u + min(r0 + {q}u, SLICE - 1u) * {units}u;"
                        );
                    }
                    let _ = writeln!(
                        body,
                        "            for (var j = 0u; j < {units}u; j++) {{\n                let w = param[{offset}u + k * {units}u + j];"
                    );
                    for q in 0..r {
                        let _ = writeln!(body, "                a{q} += mem[d{q} + j] * w;");
                    }
                    body.push_str("            }\n");
                    for q in 0..r {
                        let _ = writeln!(
                            body,
                            "            if (r0 + {q}u < rows) {{\n                mem[{input}u + (r0 + {q}u) * {inputs}u + k] = a{q};\n            }}",
                            input = slot.input
                        );
                    }
                    each(&mut s, &format!("((rows + {}u) / {r}u) * {inputs}u", r - 1), &body);
                    s.push_str(BARRIER);
                }
            }
            Stage::Dropout { width, rate, seed } if rate > 0.0 && index > first_dense => {
                each(
                    &mut s,
                    &format!("rows * {width}u"),
                    &format!(
                        "            mem[{at}u + e] = mem[{at}u + e] * keep({seed}u, t, e + skip * {width}u, {r}) / (1.0 - {r});\n",
                        at = slot.input,
                        r = f(rate)
                    ),
                );
                s.push_str(BARRIER);
            }
            Stage::Dropout { .. } => {}
        }
    }
    // The update, once every gradient is written; the next step reads the new parameters.
    // (Split steps leave it to the reduce-and-update dispatch.)
    s.push_str("        storageBarrier();\n        workgroupBarrier();\n");
    if !sliced {
        s.push_str("        for (var i = lid; i < PARAMS; i += WG) {\n            update(i, lr, bias);\n        }\n");
    }
    s.push_str("        storageBarrier();\n        workgroupBarrier();\n        done = s + 1u;\n    }\n");
    // The metric reduction and the step count (a split step leaves its workgroup's sums in the
    // partial buffer for the reduce-and-update dispatch).
    let write_sums = if sliced {
        "    if (lid < METRIC_SLOTS_USED) {\n        partial[SLICES * PARAMS + wid.x * METRIC_SLOTS_USED + lid] = mem[lid * WG];\n    }\n}\n"
    } else {
        "    if (lid < METRIC_SLOTS_USED) {\n        status[lid] += mem[lid * WG];\n    }\n    if (lid == 0u) {\n        status[METRIC_SLOTS_USED] += f32(done);\n    }\n}\n"
    };
    s.push_str(
        r#"    for (var q = 0u; q < METRIC_SLOTS_USED; q++) {
        mem[q * WG + lid] = sums[q];
    }
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            for (var q = 0u; q < METRIC_SLOTS_USED; q++) {
                mem[q * WG + lid] += mem[q * WG + lid + stride];
            }
        }
        workgroupBarrier();
    }
"#,
    );
    s.push_str(write_sums);
    if sliced {
        let _ = write!(
            s,
            r#"
// The reduce-and-update dispatch of a split step: each parameter's gradient is the sum of the
// workgroups' partials; then the optimizer update; workgroup 0 adds the metric sums and counts
// the step.
@compute @workgroup_size({REDUCE_WORKGROUP}, 1, 1)
fn {REDUCE_ENTRY_POINT}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {{
    let step_index = run.first_step;
    let t = run.step_base + step_index + 1u;
    let lr = scheduled_learning_rate(t - 1u);
{bias}    let i = gid.x;
    if (i < PARAMS) {{
        var g = 0.0;
        for (var k = 0u; k < SLICES; k++) {{
            g += partial[k * PARAMS + i];
        }}
        grad[p.grad_off + i] = g;
        update(i, lr, bias);
    }}
    if (wid.x == 0u && lid < METRIC_SLOTS_USED) {{
        var m = 0.0;
        for (var k = 0u; k < SLICES; k++) {{
            m += partial[SLICES * PARAMS + k * METRIC_SLOTS_USED + lid];
        }}
        status[lid] += m;
    }}
    if (i == 0u) {{
        status[METRIC_SLOTS_USED] += 1.0;
    }}
}}
"#,
            bias = if adam_table {
                "    let entry = STATUS_TABLE + 2u * (t - run.table_first);\n    let bias = vec2<f32>(status[entry], status[entry + 1u]);\n"
            } else {
                "    let bias = vec2<f32>(1.0, 1.0);\n"
            }
        );
    }
    s
}
