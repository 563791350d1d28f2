//! placeholder
#[cfg(test)]
mod tests {
    #[test]
    fn smoke() {
        let t = tch::Tensor::from_slice(&[1.0f32, -2.0]).relu();
        assert_eq!(Vec::<f32>::try_from(t).unwrap(), vec![1.0, 0.0]);
    }
}
