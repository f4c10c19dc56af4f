use zen_telemetry::traced;

#[traced(objective(succes = 99.9))]
fn typo() {}

#[traced(objective())]
fn empty() {}

#[traced(objective(success = "99.9"))]
fn string() {}

#[traced(objective)]
fn bare() {}

fn main() {}
