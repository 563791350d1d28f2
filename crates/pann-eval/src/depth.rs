//! Multiplicative depth of a whole PANN under CKKS, without bootstrapping.
//!
//! Counted along the longest path: every convolution and the linear head multiply by plaintext weights (one
//! level each; batch-norm, the `1/B` of the next polynomial and the average pooling's `1/HW` fold into them),
//! every ReLU costs its polynomial depth, every `k×k` max-pool `⌈log2 k²⌉` levels of pairwise maxima. Residual
//! additions cost nothing: both branches are brought to the same level.

use pann_nn::Architecture;

/// Depth of one ReLU site and of one max-pool window level are given; returns the network depth.
pub fn network_depth(arch: Architecture, relu_depth: u32, pool_level_depth: u32) -> u32 {
    let relus = relu_site_count(arch);
    network_depth_per_site(arch, &vec![relu_depth; relus], pool_level_depth)
}

/// Number of ReLU sites of `arch`, in the order of [`pann_nn::Model::relu_sites`].
pub fn relu_site_count(arch: Architecture) -> usize {
    match arch {
        // conv1's ReLU, then two per block: `depth − 2` block convolutions, one ReLU after each.
        Architecture::ResNet { depth, .. } => depth - 1,
        Architecture::Vgg { depth, .. } => depth - 3,
        Architecture::SmallCnn { .. } => 2,
    }
}

/// Network depth when ReLU site `i` costs `relu_depths[i]` levels (layer-wise precision). Every ReLU of these
/// architectures lies on the longest path (a ResNet's shortcut skips convolutions, never a ReLU of the main path),
/// so the depth is the linear layers plus the *sum* of the per-site depths.
pub fn network_depth_per_site(arch: Architecture, relu_depths: &[u32], pool_level_depth: u32) -> u32 {
    debug_assert_eq!(
        relu_depths.len(),
        relu_site_count(arch),
        "one depth per ReLU site of {arch}"
    );
    let relus: u32 = relu_depths.iter().sum();
    match arch {
        Architecture::ResNet { depth, .. } => {
            // conv1, then per block conv–relu–conv(–add)–relu; `depth − 2` block convs, all on the main path, and
            // the linear head.
            let convs = 1 + (depth as u32 - 2);
            convs + relus + 1
        }
        Architecture::Vgg { depth, .. } => {
            // `depth − 3` convolutions each followed by a ReLU, five 2×2 max-pools (2 levels of pairwise maxima
            // each) and one linear classifier (pann-nn's CIFAR VGG head).
            let convs = depth as u32 - 3;
            convs + 1 + relus + 5 * 2 * pool_level_depth
        }
        Architecture::SmallCnn { .. } => {
            // conv1, ReLU, 2×2 average pool, conv2, ReLU, 2×2 average pool, fc: three plaintext products and two
            // ReLUs. The average pools are sums and a factor 1/4 that folds into conv2 and fc; no max-pools.
            3 + relus
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
    fn per_site_depth_sums_the_relus_on_the_path() {
        let arch: Architecture = "resnet20".parse().unwrap();
        assert_eq!(relu_site_count(arch), 19);
        let mut depths = vec![9; 19];
        assert_eq!(network_depth_per_site(arch, &depths, 0), network_depth(arch, 9, 9));
        depths[3] = 6;
        depths[18] = 11;
        assert_eq!(network_depth_per_site(arch, &depths, 0), 20 + 17 * 9 + 6 + 11);
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
