use zen_telemetry::traced;

#[traced]
const fn answer() -> u32 {
    42
}

const ANSWER: u32 = answer();

fn main() {
    let _ = ANSWER + answer();
}
