//! Fitting each measurement into a time budget. A workload whose epochs take minutes on a slow
//! backend (the `wide` workload on lavapipe, a CPU pretending to be a GPU) trains on fewer
//! rows per epoch there: throughput is a per-step figure, so a shorter epoch measures it as
//! well, and the report shows the rows each backend really trained. The step time comes from
//! a one-step fit on a throwaway backend.

use super::workload::Workload;

/// How one workload is run on one backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// Rows per epoch.
    pub rows: usize,
    /// Timed warm epochs.
    pub epochs: usize,
    /// Whether the steps-per-submit sweep runs.
    pub sweep: bool,
    /// Timed epochs per sweep setting.
    pub sweep_epochs: usize,
}

/// Fewest steps per epoch for the sweep's settings (1, 4, 16, epoch) to be worth comparing.
const SWEEP_MIN_STEPS: usize = 8;

impl Schedule {
    /// Epochs a run trains in all: cold, the one-epoch fit, the timed fit, and per sweep
    /// setting one fit of `sweep_epochs` + 1.
    pub fn total_epochs(&self) -> usize {
        let settings = super::SWEEP_SETTINGS.len();
        self.epochs
            + 3
            + if self.sweep {
                settings * (self.sweep_epochs + 1)
            } else {
                0
            }
    }

    /// The schedule for `workload`: every row unless `budget_s` and the measured `step_s`
    /// say the run would not fit, then as many whole batches per epoch as fit (at least one),
    /// dropping the sweep first when it would leave too few steps to compare.
    pub fn new(
        workload: &Workload,
        epochs: usize,
        sweep: bool,
        sweep_epochs: usize,
        budget: Option<(f64, f64)>,
    ) -> Schedule {
        let mut schedule = Schedule {
            rows: workload.rows,
            epochs: epochs.max(1),
            sweep,
            sweep_epochs: sweep_epochs.max(1),
        };
        let Some((budget_s, step_s)) = budget else {
            return schedule;
        };
        let full = workload.steps_per_epoch();
        let steps_fitting =
            |s: &Schedule| ((budget_s / (step_s.max(1e-9) * s.total_epochs() as f64)).floor() as usize).clamp(1, full);
        let mut steps = steps_fitting(&schedule);
        if schedule.sweep && steps < full && steps < SWEEP_MIN_STEPS {
            schedule.sweep = false;
            steps = steps_fitting(&schedule);
        }
        if steps < full {
            schedule.rows = steps * workload.batch;
        }
        schedule
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_backends_run_every_row() {
        let w = Workload::mnist_mlp();
        let s = Schedule::new(&w, 3, true, 2, Some((30.0, 1e-4)));
        assert_eq!((s.rows, s.epochs, s.sweep), (20_000, 3, true));
        assert_eq!(Schedule::new(&w, 3, true, 2, None).rows, 20_000);
    }

    #[test]
    fn slow_backends_run_whole_batches_within_the_budget() {
        let w = Workload::mnist_mlp();
        // 18 epochs in all at 0.1 s a step: 16 steps per epoch fit in 30 s.
        let s = Schedule::new(&w, 3, true, 2, Some((30.0, 0.1)));
        assert_eq!(s.total_epochs(), 18);
        assert_eq!(s.rows, 16 * 128);
        assert!(s.sweep);
    }

    #[test]
    fn the_sweep_goes_first_and_one_batch_is_the_floor() {
        let w = Workload::wide();
        let s = Schedule::new(&w, 3, true, 2, Some((30.0, 4.0)));
        assert!(!s.sweep);
        assert_eq!(s.rows, 512);
        assert_eq!(s.epochs, 3);
    }
}
