use zen_telemetry::traced;

struct User {
    id: u64,
}

#[traced(attrs(user.id = user.id, user = user))]
fn f(user: &User) -> u64 {
    user.id
}

fn main() {
    f(&User { id: 1 });
}
