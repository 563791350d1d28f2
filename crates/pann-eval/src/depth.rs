//! Multiplicative depth of a whole PANN under CKKS, without bootstrapping.
//!
//! Counted along the longest path: every convolution and the linear head multiply by plaintext weights (one
//! level each; batch-norm, the `1/B` of the next polynomial and the average pooling's `1/HW` fold into them),
//! every ReLU costs its polynomial depth, every `k×k` max-pool `⌈log2 k²⌉` levels of pairwise maxima. Residual
//! additions cost nothing: both branches are brought to the same level.

use pann_nn::Architecture;

/// Depth of one ReLU site and of one max-pool window level are given; returns the network depth.
pub fn network_depth(arch: Architecture, relu_depth: u32, pool_level_depth: u32) -> u32 {
    match arch {
        Architecture::ResNet { depth, .. } => {
            // conv1, then per block conv–relu–conv(–add)–relu; `depth − 2` block convs, all on the main path.
            let convs = 1 + (depth as u32 - 2);
            let relus = 1 + (depth as u32 - 2);
            convs + relus * relu_depth + 1
        }
        Architecture::Vgg { depth, .. } => {
            // `depth − 3` convolutions each followed by a ReLU, five 2×2 max-pools (2 levels of pairwise maxima
            // each) and one linear classifier (pann-nn's CIFAR VGG head).
            let convs = depth as u32 - 3;
            convs + 1 + convs * relu_depth + 5 * 2 * pool_level_depth
        }
        Architecture::SmallCnn { .. } => {
            // conv1, ReLU, 2×2 average pool, conv2, ReLU, 2×2 average pool, fc: three plaintext products and two
            // ReLUs. The average pools are sums and a factor 1/4 that folds into conv2 and fc; no max-pools.
            3 + 2 * relu_depth
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pann_nn::Shortcut;

    #[test]
    fn resnet20_has_19_relus_and_20_linear_layers_on_its_path() {
        let arch = Architecture::ResNet {
            depth: 20,
            shortcut: Shortcut::A,
            num_classes: 10,
        };
        assert_eq!(network_depth(arch, 9, 9), 19 * 9 + 20);
        let vgg = Architecture::Vgg {
            depth: 16,
            num_classes: 10,
        };
        assert_eq!(network_depth(vgg, 9, 9), 14 + 13 * 9 + 10 * 9);
    }

    #[test]
    fn smallcnn_has_two_relus_three_linear_layers_and_free_average_pools() {
        let arch: Architecture = "smallcnn".parse().unwrap();
        assert_eq!(network_depth(arch, 9, 9), 2 * 9 + 3);
        // The widths change nothing, and the max-pool depth does not enter (there are none).
        let wide = Architecture::SmallCnn {
            c1: 32,
            c2: 64,
            num_classes: 100,
        };
        assert_eq!(network_depth(wide, 7, 100), 2 * 7 + 3);
    }
}
