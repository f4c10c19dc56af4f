use zen_telemetry::traced;

#[traced(attrs(ids = ids.clone()))]
fn f(ids: &Vec<u32>) -> usize {
    ids.len()
}

fn main() {
    f(&vec![1]);
}
