//! The floor for `jsafe --version`: a Rust program that prints one line.
//! Built by scripts/bench with `rustc -O`.
fn main() {
    println!("jsafe 0.1.0");
}
