// A static Rust guest: std start-up (poll, sigaction, sigaltstack), allocation, threads of
// nothing, formatting, environment, and an exit status.
use std::collections::BTreeMap;
fn main() {
    let mut m = BTreeMap::new();
    for i in 0..10_000u64 {
        m.insert(i, i * i);
    }
    let sum: u64 = m.values().sum();
    println!("rust guest: sum={sum} args={:?}", std::env::args().skip(1).collect::<Vec<_>>());
    let v: Vec<String> = (0..3).map(|i| format!("item{i}")).collect();
    println!("{}", v.join(","));
    std::process::exit(5);
}
