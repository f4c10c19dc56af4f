//! Objectives a traced function declares in code,
//! `#[traced(objective(success = 99.9, latency_ms = 250))]`, carried as two
//! bounded labels of its metrics: `objective_success` on `function.calls`
//! and `objective_latency_ms` on `function.calls.duration`.
//!
//! Each must come from a fixed set (as in autometrics): PromQL cannot read a
//! number out of a label, so the alert generator (`zen telemetry monitoring`)
//! spells one threshold per allowed value. A value outside the set is a
//! compile error, raised here by the `const fn`s the macro calls.

/// The label of `function.calls` holding the function's success objective.
pub const OBJECTIVE_SUCCESS_ATTRIBUTE: &str = "objective_success";
/// The label of `function.calls.duration` holding its latency objective (ms).
pub const OBJECTIVE_LATENCY_ATTRIBUTE: &str = "objective_latency_ms";

/// The success objectives a function may declare (percent of calls that end
/// in neither an error nor a panic), with their label values.
pub const SUCCESS_OBJECTIVES: [(f64, &str); 7] = [
    (90.0, "90"),
    (95.0, "95"),
    (99.0, "99"),
    (99.5, "99.5"),
    (99.9, "99.9"),
    (99.95, "99.95"),
    (99.99, "99.99"),
];

/// The latency objectives a function may declare, in milliseconds: the
/// bounds of the duration histogram's buckets, with their label values.
pub const LATENCY_OBJECTIVES_MS: [(f64, &str); 19] = [
    (0.1, "0.1"),
    (0.25, "0.25"),
    (0.5, "0.5"),
    (1.0, "1"),
    (2.5, "2.5"),
    (5.0, "5"),
    (10.0, "10"),
    (25.0, "25"),
    (50.0, "50"),
    (75.0, "75"),
    (100.0, "100"),
    (250.0, "250"),
    (500.0, "500"),
    (750.0, "750"),
    (1000.0, "1000"),
    (2500.0, "2500"),
    (5000.0, "5000"),
    (7500.0, "7500"),
    (10000.0, "10000"),
];

/// A function's objectives: indexes into the two tables above.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Objective {
    success: Option<u8>,
    latency: Option<u8>,
}

impl Objective {
    /// No objective: the alerts use the generator's flags.
    pub const NONE: Objective = Objective {
        success: None,
        latency: None,
    };

    /// With a success objective of `percent`; a compile error unless it is
    /// one of [`SUCCESS_OBJECTIVES`].
    pub const fn success(self, percent: f64) -> Objective {
        if let Some(index) = position(&SUCCESS_OBJECTIVES, percent) {
            return Objective {
                success: Some(index),
                ..self
            };
        }
        panic!("#[traced(objective(success = ...))] must be one of 90, 95, 99, 99.5, 99.9, 99.95, 99.99 (percent)")
    }

    /// With a latency objective of `ms`; a compile error unless it is one of
    /// [`LATENCY_OBJECTIVES_MS`].
    pub const fn latency_ms(self, ms: f64) -> Objective {
        if let Some(index) = position(&LATENCY_OBJECTIVES_MS, ms) {
            return Objective {
                latency: Some(index),
                ..self
            };
        }
        panic!(
            "#[traced(objective(latency_ms = ...))] must be a bucket bound: 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, \
             50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500 or 10000 (ms)"
        )
    }

    /// The `objective_success` label value, when one was declared.
    pub fn success_label(&self) -> Option<&'static str> {
        self.success.map(|index| SUCCESS_OBJECTIVES[usize::from(index)].1)
    }

    /// The `objective_latency_ms` label value, when one was declared.
    pub fn latency_label(&self) -> Option<&'static str> {
        self.latency.map(|index| LATENCY_OBJECTIVES_MS[usize::from(index)].1)
    }
}

/// Where `value` is in `table` (a `const fn`: iterators are not allowed here).
const fn position(table: &[(f64, &str)], value: f64) -> Option<u8> {
    let mut index = 0;
    while index < table.len() {
        if table[index].0 == value {
            return Some(index as u8);
        }
        index += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_values_as_written() {
        for (percent, label) in SUCCESS_OBJECTIVES {
            assert_eq!(label.parse::<f64>().ok(), Some(percent));
        }
        const BOTH: Objective = Objective::NONE.success(99.9).latency_ms(250.0);
        assert_eq!(BOTH.success_label(), Some("99.9"));
        assert_eq!(BOTH.latency_label(), Some("250"));
        assert_eq!(Objective::NONE.success(99.0).latency_label(), None);
    }
}
