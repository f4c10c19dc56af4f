//! zen's own usage metrics, through `zen_telemetry::meter_provider()`: they
//! go where zen's spans go and the same switches turn them off.
//! `docs/telemetry-data.md` lists them; every attribute value is a fixed
//! word (an outcome, a status, a kind), never user text: instance names are
//! user text, so they are not an attribute.

use std::sync::OnceLock;

use zen_telemetry::opentelemetry::KeyValue;
use zen_telemetry::opentelemetry::metrics::{Counter, MeterProvider};

use crate::accounting::Usage;

/// `zen.runs`, by `outcome`.
pub const RUNS: &str = "zen.runs";
/// `zen.instances`, by `status` and `kind`.
pub const INSTANCES: &str = "zen.instances";
/// `zen.tokens`, by `kind`.
pub const TOKENS: &str = "zen.tokens";
/// `zen.cost`, in USD.
pub const COST: &str = "zen.cost";
/// The unit of `zen.cost`.
pub const COST_UNIT: &str = "USD";
/// zen's `service.name`, so the `job` label of its metrics (unless
/// `OTEL_SERVICE_NAME` names another).
pub const SERVICE_NAME: &str = "zen";
/// The attribute of `zen.runs`: `succeeded`, `failed` or `cancelled`.
pub const OUTCOME_ATTRIBUTE: &str = "outcome";
/// The attribute of `zen.instances` holding the instance's final status.
pub const STATUS_ATTRIBUTE: &str = "status";
/// The attribute of `zen.instances` (the instance's kind) and `zen.tokens` (the token kind).
pub const KIND_ATTRIBUTE: &str = "kind";

struct Instruments {
    runs: Counter<u64>,
    instances: Counter<u64>,
    tokens: Counter<u64>,
    cost: Counter<f64>,
}

/// The instruments, or `None` while telemetry or metrics are off.
fn instruments() -> Option<&'static Instruments> {
    static INSTRUMENTS: OnceLock<Option<Instruments>> = OnceLock::new();
    INSTRUMENTS
        .get_or_init(|| {
            let meter = zen_telemetry::meter_provider()?.meter("zen");
            Some(Instruments {
                runs: meter.u64_counter(RUNS).with_description("zen runs, by outcome").build(),
                instances: meter
                    .u64_counter(INSTANCES)
                    .with_description("Instances that ended, by status and kind")
                    .build(),
                tokens: meter
                    .u64_counter(TOKENS)
                    .with_description("Tokens used by instances, by kind")
                    .build(),
                cost: meter
                    .f64_counter(COST)
                    .with_unit(COST_UNIT)
                    .with_description("Cost of instances")
                    .build(),
            })
        })
        .as_ref()
}

/// Counts one instance that ended with `status`, and what it used.
pub fn record_instance(kind: &'static str, status: &'static str, usage: &Usage, cost_usd: f64) {
    let Some(instruments) = instruments() else { return };
    instruments.instances.add(
        1,
        &[
            KeyValue::new(STATUS_ATTRIBUTE, status),
            KeyValue::new(KIND_ATTRIBUTE, kind),
        ],
    );
    for (kind, tokens) in [
        ("input", usage.input),
        ("output", usage.output),
        ("cache_read", usage.cache_read),
        ("cache_write", usage.cache_creation),
    ] {
        if tokens > 0 {
            instruments.tokens.add(tokens, &[KeyValue::new(KIND_ATTRIBUTE, kind)]);
        }
    }
    if cost_usd > 0.0 && cost_usd.is_finite() {
        instruments.cost.add(cost_usd, &[]);
    }
}

/// Counts one run that ended `outcome`: `succeeded`, `failed` or `cancelled`.
pub fn record_run(outcome: &'static str) {
    if let Some(instruments) = instruments() {
        instruments.runs.add(1, &[KeyValue::new(OUTCOME_ATTRIBUTE, outcome)]);
    }
}
