//! `--start-at`: when a run starts, with Python Zen's forms and meanings.
//!
//! - a delay: `2h`, `30m`, `45s`, `1.5h` (a number and `h`, `m` or `s`);
//! - a time of day, local: `14:30`, `1am`, `12pm`, `10:30pm`. A time that has
//!   already come today (or is now) means tomorrow.
//!
//! Parsing and the schedule are pure functions of an injected "now"; the
//! countdown waits on tokio's clock, so tests run it with time paused.

use std::time::Duration;

use chrono::{NaiveDateTime, NaiveTime, TimeDelta};

/// A parsed `--start-at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StartAt {
    /// This long from now.
    In(Duration),
    /// The next time the local clock shows this (today, else tomorrow).
    At(NaiveTime),
}

const FORMS: &str = "expected a delay like 2h, 30m or 45s, or a time of day like 14:30, 1am or 10:30pm";

/// Parses `--start-at` (case and surrounding spaces do not matter).
pub fn parse(text: &str) -> Result<StartAt, String> {
    let text = text.trim().to_ascii_lowercase();
    let bad = || format!("--start-at {text:?}: {FORMS}");
    let number = |part: &str| {
        let part = part.trim_end();
        (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
            .then(|| part.parse::<f64>().ok())
            .flatten()
    };
    if let Some(unit) = text.chars().last().filter(|c| matches!(c, 'h' | 'm' | 's'))
        && let Some(value) = number(&text[..text.len() - 1])
    {
        let seconds = value
            * match unit {
                'h' => 3600.0,
                'm' => 60.0,
                _ => 1.0,
            };
        return Duration::try_from_secs_f64(seconds).map(StartAt::In).map_err(|_| bad());
    }
    let (clock, meridiem) = match text.strip_suffix("am").or_else(|| text.strip_suffix("pm")) {
        Some(clock) => (clock.trim_end(), Some(text.ends_with("pm"))),
        None => (text.as_str(), None),
    };
    let (hour, minute) = match clock.split_once(':') {
        Some((hour, minute)) if minute.len() == 2 => (hour, minute),
        Some(_) => return Err(bad()),
        None if meridiem.is_some() => (clock, "00"),
        None => return Err(bad()),
    };
    let digits = |part: &str, most: usize| {
        (!part.is_empty() && part.len() <= most && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    let (Some(hour), Some(minute)) = (digits(hour, 2), digits(minute, 2)) else {
        return Err(bad());
    };
    let hour = match meridiem {
        Some(pm) if (1..=12).contains(&hour) => hour % 12 + if pm { 12 } else { 0 },
        Some(_) => return Err(format!("--start-at {text:?}: the hour of am/pm is 1 to 12")),
        None => hour,
    };
    NaiveTime::from_hms_opt(hour, minute, 0)
        .map(StartAt::At)
        .ok_or_else(|| format!("--start-at {text:?}: no such time of day"))
}

impl StartAt {
    /// The local date and time the run starts, seen at `now`.
    pub fn target(self, now: NaiveDateTime) -> NaiveDateTime {
        match self {
            StartAt::In(delay) => now + TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX),
            StartAt::At(time) => {
                let today = now.date().and_time(time);
                if today <= now {
                    today + TimeDelta::days(1)
                } else {
                    today
                }
            }
        }
    }

    /// `2026-12-03 14:30:00 (in 1h 30m)`, as the run announces it.
    pub fn describe(self, now: NaiveDateTime) -> String {
        format!(
            "{} (in {})",
            self.target(now).format("%Y-%m-%d %H:%M:%S"),
            remaining(self.wait(now))
        )
    }

    /// How long to wait from `now`.
    pub fn wait(self, now: NaiveDateTime) -> Duration {
        (self.target(now) - now).to_std().unwrap_or(Duration::ZERO)
    }
}

/// The remaining times at which the countdown speaks (Python Zen's: 1 h,
/// 30 min, 15 min, 5 min, 1 min, 30 s, 10 s), below a wait of `wait`.
pub fn countdown_marks(wait: Duration) -> Vec<Duration> {
    [3600, 1800, 900, 300, 60, 30, 10]
        .into_iter()
        .map(Duration::from_secs)
        .filter(|mark| *mark < wait)
        .collect()
}

/// `1h 30m`, `5m 0s` or `30s`, as the countdown says it.
pub fn remaining(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (hours, minutes, seconds) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// Waits `wait`, calling `say` with each countdown line; returns false when
/// `cancelled` turned true first.
pub async fn countdown(
    wait: Duration,
    mut cancelled: tokio::sync::watch::Receiver<bool>,
    mut say: impl FnMut(String),
) -> bool {
    let start = tokio::time::Instant::now();
    let end = start + wait;
    for mark in countdown_marks(wait).into_iter().map(Some).chain([None]) {
        let until = mark.map_or(end, |mark| end - mark);
        tokio::select! {
            () = tokio::time::sleep_until(until) => {}
            _ = cancelled.wait_for(|stop| *stop) => return false,
        }
        if let Some(mark) = mark {
            say(format!("zen: starting in {}", remaining(mark)));
        }
    }
    !*cancelled.borrow()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(hour: u32, minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 31)
            .and_then(|d| d.and_hms_opt(hour, minute, 0))
            .expect("a date")
    }

    fn time(hour: u32, minute: u32) -> StartAt {
        StartAt::At(NaiveTime::from_hms_opt(hour, minute, 0).expect("a time"))
    }

    #[test]
    fn every_form_parses() {
        for (text, expected) in [
            ("2h", StartAt::In(Duration::from_secs(7200))),
            ("30m", StartAt::In(Duration::from_secs(1800))),
            ("45s", StartAt::In(Duration::from_secs(45))),
            ("1.5h", StartAt::In(Duration::from_secs(5400))),
            (" 2 H ", StartAt::In(Duration::from_secs(7200))),
            ("14:30", time(14, 30)),
            ("0:05", time(0, 5)),
            ("1am", time(1, 0)),
            ("12am", time(0, 0)),
            ("12pm", time(12, 0)),
            ("10:30pm", time(22, 30)),
            ("10:30 PM", time(22, 30)),
            ("7:05am", time(7, 5)),
        ] {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_forms_say_what_is_expected() {
        for text in [
            "", "soon", "2d", "-5m", "25:00", "14:3", "14:300", "13pm", "0am", "1:60pm", "h",
        ] {
            let error = parse(text).expect_err(text);
            assert!(error.starts_with("--start-at"), "{text}: {error}");
        }
        assert!(parse("later").unwrap_err().contains("14:30, 1am or 10:30pm"));
    }

    #[test]
    fn a_time_that_has_come_means_tomorrow_even_across_the_year() {
        let now = at(23, 0);
        assert_eq!(time(23, 30).target(now), at(23, 30), "later today");
        let tomorrow = NaiveDate::from_ymd_opt(2027, 1, 1).and_then(|d| d.and_hms_opt(1, 0, 0));
        assert_eq!(Some(parse("1am").expect("1am").target(now)), tomorrow);
        assert_eq!(
            time(23, 0).wait(now),
            Duration::from_secs(24 * 3600),
            "now is tomorrow's"
        );
        assert_eq!(parse("30m").expect("30m").wait(now), Duration::from_secs(1800));
        assert_eq!(time(22, 59).wait(now), Duration::from_secs(24 * 3600 - 60));
    }

    #[test]
    fn the_countdown_speaks_at_python_zens_marks() {
        assert_eq!(
            countdown_marks(Duration::from_secs(2 * 3600)),
            [3600, 1800, 900, 300, 60, 30, 10].map(Duration::from_secs)
        );
        assert_eq!(
            countdown_marks(Duration::from_secs(45)),
            [30, 10].map(Duration::from_secs)
        );
        assert_eq!(remaining(Duration::from_secs(5400)), "1h 30m");
        assert_eq!(remaining(Duration::from_secs(300)), "5m 0s");
        assert_eq!(remaining(Duration::from_secs(10)), "10s");
    }

    #[tokio::test(start_paused = true)]
    async fn the_countdown_waits_on_tokios_clock_and_stops_when_cancelled() {
        let (_keep, never) = tokio::sync::watch::channel(false);
        let started = tokio::time::Instant::now();
        let mut lines = Vec::new();
        assert!(countdown(Duration::from_secs(90), never, |line| lines.push(line)).await);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(90),
            "paused time advanced exactly"
        );
        assert_eq!(
            lines,
            ["zen: starting in 1m 0s", "zen: starting in 30s", "zen: starting in 10s"]
        );

        let (cancel, cancelled) = tokio::sync::watch::channel(false);
        let waiting = tokio::spawn(countdown(Duration::from_secs(3600), cancelled, |_| {}));
        tokio::time::sleep(Duration::from_secs(5)).await;
        let _ = cancel.send(true);
        assert!(!waiting.await.expect("the countdown task"), "cancelled");
    }
}
