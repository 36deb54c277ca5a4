// The migrations are embedded at compile time; rebuild when they change.
fn main() {
    println!("cargo:rerun-if-changed=../schema/postgres");
    println!("cargo:rerun-if-changed=../schema/sqlite");
}
