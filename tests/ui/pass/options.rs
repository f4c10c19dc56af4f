//! Every option, alone and combined in any order.

use zen_telemetry::traced;

#[traced]
fn default_name() {}

#[traced("custom.name")]
fn positional_name() -> u32 {
    1
}

#[traced(name = "named")]
fn name_option() -> &'static str {
    "x"
}

#[traced(attrs(operation = "main_loop", retries = 3, dry = false, ratio = 0.5))]
fn literal_attrs() {}

#[traced(attrs(zen.instance.name = "a", "literal key" = 1, batch.size = items.len(), first = items[0]))]
fn expression_attrs(items: &[u32]) -> usize {
    items.len()
}

#[traced(kind = server)]
fn server() {}

#[traced(kind = client, "client.call", attrs(peer = "db"))]
fn combined_any_order() {}

#[traced(attrs(a = 1), kind = producer, name = "produce",)]
fn trailing_comma() {}

#[traced(kind = consumer)]
fn consumer() {}

#[traced(kind = internal)]
fn internal() {}

#[traced(attrs(owned = name.to_string(), borrowed = name, text = &*name, r#type = "raw key"))]
fn string_attrs(name: &str) {}

#[traced(attrs(n = n, r = &n, w = n as u64, f = n as f32))]
fn numeric_attrs(n: i32) -> i32 {
    n
}

fn main() {
    default_name();
    assert_eq!(positional_name(), 1);
    assert_eq!(name_option(), "x");
    literal_attrs();
    assert_eq!(expression_attrs(&[1, 2]), 2);
    server();
    combined_any_order();
    trailing_comma();
    consumer();
    internal();
    string_attrs("x");
    assert_eq!(numeric_attrs(3), 3);
}
