use pann_approx::sign::{design_components, certified};
fn main() {
    let degs = vec![7usize, 7, 7, 7, 7, 15];
    let t = std::time::Instant::now();
    let (eps, comps) = design_components(17, &degs, None).unwrap();
    println!("design {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let c = certified(17, &degs, eps, comps);
    println!("cert {:?} samples {}", t.elapsed(), c.certificate.samples);
}
