//! `#[traced]` where `zen_telemetry` is not a name: the dependency is renamed
//! (`telemetry = { package = "zen-telemetry" }`) or reached through a facade
//! crate, and every use says where it is with `crate = path`.

#![deny(warnings)]

use std::future::Future;

/// Through the renamed dependency.
pub mod renamed {
    use super::Future;
    use telemetry::traced;

    /// A sync fn.
    #[traced(crate = telemetry)]
    pub fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
        telemetry::span_attributes!(input.len = input.len());
        input.parse()
    }

    /// An `async fn`.
    #[traced(crate = ::telemetry, attrs(n = n))]
    pub async fn double(n: u32) -> u32 {
        n * 2
    }

    /// A `-> impl Future` with an async tail.
    #[traced(crate = telemetry)]
    pub fn later(n: u32) -> impl Future<Output = u32> {
        async move { n + 1 }
    }

    /// A diverging fn.
    #[traced(crate = telemetry)]
    pub fn fail() -> ! {
        panic!("failed")
    }

    /// An impl block.
    #[derive(Debug)]
    pub struct Account(pub u32);

    #[traced(crate = telemetry, kind = server)]
    impl Account {
        /// Traced as `Account::balance`.
        pub fn balance(&self) -> u32 {
            self.0
        }

        /// Traced as `Account::deposit`.
        pub async fn deposit(&mut self, amount: u32) -> u32 {
            self.0 += amount;
            self.0
        }
    }
}

/// Through the facade crate.
pub mod facade {
    use zen_facade::traced;

    /// A sync fn.
    #[traced(crate = zen_facade::telemetry)]
    pub fn add(a: u32, b: u32) -> u32 {
        zen_facade::span_attributes!(sum = a + b);
        a + b
    }

    /// An `async fn`.
    #[zen_facade::traced(crate = ::zen_facade::telemetry, "facade.fetch")]
    pub async fn fetch(key: &str) -> Result<usize, String> {
        if key.is_empty() {
            Err("empty key".to_owned())
        } else {
            Ok(key.len())
        }
    }

    /// An impl block.
    #[derive(Debug)]
    pub struct Cache;

    #[traced(crate = zen_facade::telemetry, prefix = "cache.")]
    impl Cache {
        /// Traced as `cache.get`.
        pub async fn get(&self, key: &str) -> Option<usize> {
            Some(key.len())
        }
    }
}
