//! The user labels that mark what `zen telemetry monitoring` made, so
//! `--apply` finds its own objects again and leaves everyone else's alone.

use sha2::{Digest, Sha256};

/// The user label on everything we create, with [`MANAGED_BY`] as value.
pub const MANAGED_BY_LABEL: &str = "managed_by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "zen-telemetry";
/// The user label holding the service ([`label_value`] of its name).
pub const SERVICE_LABEL: &str = "zen_telemetry_service";
/// The user label naming which of the service's objects it is: `dashboard`
/// or an alert's id.
pub const OBJECT_LABEL: &str = "zen_telemetry_object";
/// [`OBJECT_LABEL`]'s value on the dashboard.
pub const DASHBOARD_OBJECT: &str = "dashboard";

/// A user-label value for `text`: itself when it is one (lowercase letters,
/// digits, `_` and `-`, at most 63), else a cleaned prefix and a hash, so two
/// services never share one.
pub fn label_value(text: &str) -> String {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if !text.is_empty() && text.len() <= 63 && text.chars().all(allowed) {
        return text.to_owned();
    }
    let cleaned: String = text
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if allowed(c) { c } else { '-' })
        .take(54)
        .collect();
    let hash = Sha256::digest(text.as_bytes());
    let suffix: String = hash.iter().take(4).map(|byte| format!("{byte:02x}")).collect();
    format!("{cleaned}-{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_keep_valid_names_and_hash_the_rest() {
        assert_eq!(label_value("zen"), "zen");
        assert_eq!(label_value("checkout-api_2"), "checkout-api_2");
        let dotted = label_value("Shop.Checkout");
        assert!(dotted.starts_with("shop-checkout-"), "{dotted}");
        assert_ne!(dotted, label_value("shop-checkout"));
        let long = label_value(&"x".repeat(100));
        assert!(long.len() <= 63, "{long}");
    }
}
