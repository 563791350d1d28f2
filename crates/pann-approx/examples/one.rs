fn main() {
    let a: u32 = std::env::args().nth(1).unwrap().parse().unwrap();
    let t = std::time::Instant::now();
    let c = pann_approx::CompositeSign::for_alpha(a).unwrap();
    println!("{:?} {:?}", c.degrees, t.elapsed());
}
