//! How a recorded call's span ends: its status, its `exception` event and
//! its `zen.cancelled` mark, made once from the call's outcome and applied
//! to the span wherever it lives (in a `Context`, or on this thread's
//! stack).

use std::any::Any;
use std::time::SystemTime;

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span, SpanRef, Status};

use super::outcome::Outcome;
use crate::calls::CallResult;
use crate::span::{self, ZenSpan};
use crate::{scrub, state};

/// The end of one recorded call.
pub(crate) struct Ending {
    pub(crate) result: CallResult,
    /// The `exception` event's attributes, for an error or a panic.
    exception: Option<Vec<KeyValue>>,
    status: Status,
}

impl Ending {
    /// The end of a call that returned `outcome`.
    pub(crate) fn of(outcome: Outcome<'_>) -> Ending {
        match outcome {
            Outcome::Ok => Ending {
                result: CallResult::Ok,
                exception: None,
                status: Status::Ok,
            },
            Outcome::Err { type_name, error } => {
                let message = exportable(error.format().as_deref());
                Ending {
                    result: CallResult::Error,
                    status: Status::error(message.clone().unwrap_or_default()),
                    exception: Some(exception(type_name, message)),
                }
            }
        }
    }

    /// The end of a call that panicked with `payload` (`None`: unknown,
    /// seen only as the guard dropped while unwinding).
    pub(crate) fn panicked(payload: Option<&(dyn Any + Send)>) -> Ending {
        let message = exportable(payload.and_then(|p| {
            p.downcast_ref::<&str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        }));
        Ending {
            result: CallResult::Panic,
            status: Status::error(message.clone().unwrap_or_else(|| "panic".to_owned())),
            exception: Some(exception("panic", message)),
        }
    }

    /// The end of a call dropped before it finished.
    pub(crate) fn cancelled() -> Ending {
        Ending {
            result: CallResult::Cancelled,
            exception: None,
            status: Status::Unset,
        }
    }

    /// Ends `span`, in a context, at `end_time`.
    pub(crate) fn apply_in_context(self, span: &SpanRef<'_>, end_time: SystemTime) {
        if let Some(attributes) = self.exception {
            span.add_event("exception", attributes);
        }
        if self.result == CallResult::Cancelled {
            span.set_attribute(cancelled_mark());
        }
        span::end_with_status(span, self.status, end_time);
    }

    /// Ends `span`, on this thread's stack, at `end_time`.
    pub(crate) fn apply(self, span: &mut ZenSpan, end_time: SystemTime) {
        if let Some(attributes) = self.exception {
            span.add_event("exception", attributes);
        }
        if self.result == CallResult::Cancelled {
            span.set_attribute(cancelled_mark());
        }
        span.set_status(self.status);
        span.end_with_timestamp(end_time);
    }
}

fn cancelled_mark() -> KeyValue {
    KeyValue::new("zen.cancelled", true)
}

fn exception(type_name: &'static str, message: Option<String>) -> Vec<KeyValue> {
    let mut attributes = vec![KeyValue::new("exception.type", type_name)];
    attributes.extend(message.map(|message| KeyValue::new("exception.message", message)));
    attributes
}

/// The text an error or panic may carry out of the process: scrubbed and
/// bounded, or nothing when error messages are turned off. The status
/// description uses the same text, so it never carries more than the event.
fn exportable(message: Option<&str>) -> Option<String> {
    message.filter(|_| state::error_messages()).map(scrub::scrub)
}
