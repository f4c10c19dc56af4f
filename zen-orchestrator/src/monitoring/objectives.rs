//! What the alerts hold a service to: its success and latency objectives and
//! the call volume below which nothing fires.

use zen_telemetry::BUCKET_BOUNDS_SECONDS;

/// The objectives of one service (every function shares them).
#[derive(Debug, Clone, PartialEq)]
pub struct Objectives {
    /// Percent of calls that must not end in an error or a panic, e.g. 99.0.
    pub success_percent: f64,
    /// The latency objective, in milliseconds.
    pub latency_ms: f64,
    /// Which percentile the latency objective bounds, e.g. 99.
    pub latency_percentile: f64,
    /// A function with fewer calls per hour than this never fires an alert.
    pub min_calls_per_hour: f64,
}

impl Default for Objectives {
    fn default() -> Objectives {
        Objectives {
            success_percent: 99.0,
            latency_ms: 500.0,
            latency_percentile: 99.0,
            min_calls_per_hour: 60.0,
        }
    }
}

impl Objectives {
    /// Checks every field; the error names the flag and what it expects.
    pub fn validate(&self) -> Result<(), String> {
        let open_percent = |value: f64| value.is_finite() && value > 0.0 && value < 100.0;
        if !open_percent(self.success_percent) {
            return Err(format!(
                "--success-objective {}: expected a percentage above 0 and below 100, e.g. 99.9",
                self.success_percent
            ));
        }
        if !(self.latency_ms.is_finite() && self.latency_ms > 0.0) {
            return Err(format!(
                "--latency-objective-ms {}: expected a positive number of milliseconds",
                self.latency_ms
            ));
        }
        if !open_percent(self.latency_percentile) {
            return Err(format!(
                "--latency-percentile {}: expected a percentile above 0 and below 100, e.g. 99",
                self.latency_percentile
            ));
        }
        if !(self.min_calls_per_hour.is_finite() && self.min_calls_per_hour >= 0.0) {
            return Err(format!(
                "--min-calls-per-hour {}: expected zero or a positive number",
                self.min_calls_per_hour
            ));
        }
        Ok(())
    }

    /// The error budget as a fraction, e.g. `0.01` for 99 %: rounded to
    /// eight decimals, so `99.9` gives `0.001` rather than float noise.
    pub fn error_budget(&self) -> f64 {
        error_budget(self.success_percent)
    }

    /// The latency objective in seconds, the unit of `le`.
    pub fn latency_seconds(&self) -> f64 {
        seconds(self.latency_ms)
    }

    /// The quantile `histogram_quantile` takes, e.g. `0.99`.
    pub fn quantile(&self) -> f64 {
        (self.latency_percentile * 1e6).round() / 1e8
    }

    /// A note when the latency objective falls between two bucket bounds:
    /// the percentile is then interpolated inside a bucket, and less exact.
    pub fn latency_note(&self) -> Option<String> {
        let seconds = self.latency_seconds();
        if BUCKET_BOUNDS_SECONDS.iter().any(|bound| (bound - seconds).abs() < 1e-9) {
            return None;
        }
        let bounds_ms: Vec<String> = BUCKET_BOUNDS_SECONDS.iter().map(|b| format!("{}", b * 1e3)).collect();
        Some(format!(
            "--latency-objective-ms {} is not a bucket bound of {}; the percentile is interpolated \
             inside its bucket (bounds in ms: {})",
            self.latency_ms,
            zen_telemetry::DURATION_METRIC,
            bounds_ms.join(", ")
        ))
    }
}

/// `ms` milliseconds in seconds, the unit of `le`, rounded to the
/// microsecond (`250` gives `0.25`, not float noise).
pub fn seconds(ms: f64) -> f64 {
    (ms * 1e3).round() / 1e6
}

/// The error budget of a success objective of `percent`, as a fraction
/// rounded to eight decimals (`99.9` gives `0.001`, not float noise).
pub fn error_budget(percent: f64) -> f64 {
    ((100.0 - percent) * 1e6).round() / 1e8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_and_quantiles_print_without_float_noise() {
        let objectives = Objectives {
            success_percent: 99.9,
            latency_ms: 250.0,
            latency_percentile: 95.0,
            ..Objectives::default()
        };
        assert_eq!(objectives.error_budget().to_string(), "0.001");
        assert_eq!(objectives.latency_seconds().to_string(), "0.25");
        assert_eq!(objectives.quantile().to_string(), "0.95");
        assert_eq!(Objectives::default().error_budget().to_string(), "0.01");
    }

    #[test]
    fn out_of_range_objectives_name_their_flag() {
        for (objectives, flag) in [
            (
                Objectives {
                    success_percent: 100.0,
                    ..Objectives::default()
                },
                "--success-objective",
            ),
            (
                Objectives {
                    latency_ms: f64::NAN,
                    ..Objectives::default()
                },
                "--latency-objective-ms",
            ),
            (
                Objectives {
                    latency_percentile: 0.0,
                    ..Objectives::default()
                },
                "--latency-percentile",
            ),
            (
                Objectives {
                    min_calls_per_hour: -1.0,
                    ..Objectives::default()
                },
                "--min-calls-per-hour",
            ),
        ] {
            let error = objectives.validate().expect_err(flag);
            assert!(error.starts_with(flag), "{error}");
        }
        assert_eq!(Objectives::default().validate(), Ok(()));
    }

    #[test]
    fn an_objective_between_bucket_bounds_is_noted() {
        assert_eq!(Objectives::default().latency_note(), None);
        let note = Objectives {
            latency_ms: 300.0,
            ..Objectives::default()
        }
        .latency_note()
        .expect("300 ms is no bound");
        assert!(note.contains("250, 500"), "{note}");
    }
}
