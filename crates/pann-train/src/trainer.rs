//! [`Trainer`]: a run in a directory, one epoch at a time, checkpointed after each.
//!
//! A run directory holds `checkpoint.safetensors` (see [`crate::checkpoint`]), `model.safetensors`
//! (the latest weights, readable by `pann eval --model`), `config.json`, `log.csv` and
//! `log.json`. [`Trainer::new`] starts a run in an empty directory; [`Trainer::resume`]
//! continues one from its checkpoint, bit-identically to an uninterrupted run with the same
//! config on the same machine (same libtorch, same thread count). [`Trainer::branch`] starts a
//! new directory from another run's checkpoint with a config that differs only after it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use pann_approx::CompositeSign;
use pann_data::{Dataset, Normalization, Split};
use pann_eval::leak_correction::{leak_means, LeakCorrection};
use pann_eval::plan::{plan, Bounds, ReluShift};
use pann_eval::range::{calibrate, lee_layers, LayerStep, LeeLayers};
use pann_eval::Silent;
use pann_nn::{ChebyshevComponent, Model, ModelCard, OverflowPolicy, TrainActivation, TrainPoly, TrainRelu};
use tch::Tensor;

use crate::branch::{branch_conflict, value_conflict};
use crate::checkpoint::{self, PannSites, State, CHECKPOINT_FILE, CONFIG_FILE, MODEL_FILE};
use crate::config::{PannRange, TrainConfig, OUTPUT_ONLY};
use crate::data::lookup_tables;
use crate::error::{Error, Result};
use crate::loader::{batches_per_epoch, derive_seed, EpochPlan, Prefetcher};
use crate::log::{write_logs, EpochRecord};
use crate::loss::correct;
use crate::memory::peak_rss_mib;
use crate::schedule::LrSchedule;
use crate::sgd::Sgd;
use crate::step::{train_step_distilled, Distill, ImageShape};

/// Where a run reads and writes; none of it changes the weights.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run directory.
    pub dir: PathBuf,
    /// The data set directory.
    pub data_dir: PathBuf,
    /// Evaluate on the first N test images only (`None`: all).
    pub test_images: Option<usize>,
    /// Images per batch when evaluating.
    pub eval_batch: usize,
    /// After every epoch of a run with `--pann-alpha`, also measure the test accuracy as `pann eval --range
    /// lee-layers` would at that α (inference kernels, per-site bounds fitted on the test images from the
    /// calibrated ones, the mean-leak correction if the run trains with it): the number the fine-tune is for.
    /// Changes no weight; costs a few passes over the test images per epoch.
    pub eval_lee_layers: bool,
}

/// Progress of an epoch after a batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchProgress {
    /// Batches done in this epoch.
    pub batch: usize,
    /// Batches of the epoch.
    pub batches: usize,
    /// Images trained on in this epoch.
    pub images: usize,
    /// Mean loss so far in this epoch.
    pub loss: f64,
    /// Accuracy so far in this epoch.
    pub acc: f64,
    /// Images per second so far in this epoch.
    pub images_per_sec: f64,
}

/// Sees a run's progress (the library itself never prints).
pub trait Observer {
    /// Epoch `epoch` (from 1) of `epochs` starts, with `batches` batches.
    fn epoch_begin(&mut self, epoch: usize, epochs: usize, batches: usize) {
        let _ = (epoch, epochs, batches);
    }
    /// A batch is done.
    fn batch_end(&mut self, p: &BatchProgress) {
        let _ = p;
    }
    /// The test set is being evaluated.
    fn testing(&mut self) {}
    /// The epoch is done, evaluated and checkpointed.
    fn epoch_end(&mut self, r: &EpochRecord) {
        let _ = r;
    }
}

impl Observer for () {}

/// The activation a config trains with.
pub fn train_activation(cfg: &TrainConfig) -> Result<TrainActivation> {
    let relu = match cfg.pann_alpha {
        None => TrainRelu::Exact,
        Some(alpha) => {
            let sign = CompositeSign::for_alpha(alpha)?;
            TrainRelu::Poly(TrainPoly {
                components: sign
                    .components
                    .iter()
                    .map(|c| ChebyshevComponent {
                        input_scale: c.chebyshev.input_scale,
                        coefficients: c.chebyshev.coefficients.clone(),
                    })
                    .collect(),
                bound: cfg.bound,
                site_bounds: Vec::new(),
                site_offsets: Vec::new(),
            })
        }
    };
    Ok(TrainActivation {
        relu,
        neg_noise_std: cfg.noise_std(),
    })
}

/// A training run.
pub struct Trainer {
    config: TrainConfig,
    opts: RunOptions,
    model: Model,
    sgd: Sgd,
    schedule: LrSchedule,
    act: TrainActivation,
    train: Arc<Dataset>,
    test: Dataset,
    luts: Vec<[f32; 256]>,
    records: Vec<EpochRecord>,
    epochs_done: usize,
    step: usize,
    /// The teacher of `--distill`.
    teacher: Option<Model>,
    /// The calibration images (first `calib_images` training images) of per-site bounds and the correction.
    calib: Option<Dataset>,
    norm: Normalization,
    /// Per-site bounds and offsets as last fitted.
    sites: Option<PannSites>,
}

impl Trainer {
    /// Starts a run in `opts.dir` (created if missing; refused if it holds a checkpoint).
    pub fn new(config: TrainConfig, opts: RunOptions) -> Result<Self> {
        config.validate()?;
        check_new_dir(&opts.dir)?;
        std::fs::create_dir_all(&opts.dir).map_err(|e| Error::io(&opts.dir, e))?;
        tch::manual_seed(derive_seed(&[config.seed, 0x696e6974]) as i64);
        let mut model = Model::new(config.architecture()?)?;
        if let Some(init) = &config.init {
            model.load_weights(init)?;
        }
        let sgd = optimiser(&model, &config)?;
        Self::assemble(config, opts, model, sgd, Vec::new(), 0, 0, None)
    }

    /// Continues the run in `opts.dir` from its checkpoint. With `requested`, every option must
    /// equal the stored one, or this fails naming the first that differs; only the options that
    /// change no weight (`snapshots`, `keep_checkpoints`) are taken from `requested` instead.
    pub fn resume(opts: RunOptions, requested: Option<&TrainConfig>) -> Result<Self> {
        let path = opts.dir.join(CHECKPOINT_FILE);
        if !path.exists() {
            return Err(Error::io(
                &path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no checkpoint to resume"),
            ));
        }
        let loaded = checkpoint::load(&path)?;
        let mut config = loaded.state.config.clone();
        if let Some(r) = requested {
            r.validate()?;
            if let Some((field, stored, requested)) = config.first_difference_except(r, &OUTPUT_ONLY) {
                return Err(Error::ResumeMismatch {
                    path,
                    field,
                    stored,
                    requested,
                });
            }
            // Options that change no weight may change between sessions (e.g. keep epoch 120's
            // checkpoint, decided after the run started); kept epochs add to those asked before.
            config.snapshots = r.snapshots;
            config.keep_checkpoints.extend(&r.keep_checkpoints);
            config.keep_checkpoints.sort_unstable();
            config.keep_checkpoints.dedup();
        }
        config.validate().map_err(|e| Error::CorruptCheckpoint {
            path: path.clone(),
            problem: format!("stored config: {e}"),
        })?;
        if loaded.state.epochs_done >= config.epochs {
            return Err(Error::AlreadyFinished {
                path,
                epochs: config.epochs,
            });
        }
        let (model, sgd) = restore(&path, &config, &loaded)?;
        let State {
            records,
            epochs_done,
            step,
            pann_sites,
            ..
        } = loaded.state;
        // Asked for on this resume after that epoch ended, or the run was killed between the
        // checkpoint and its copy: the checkpoint on disk is that epoch's.
        if config.keep_checkpoints.contains(&epochs_done) {
            keep_checkpoint(&opts.dir, epochs_done, false)?;
        }
        Self::assemble(config, opts, model, sgd, records, epochs_done, step, pann_sites)
    }

    /// Starts a new run in `opts.dir` from the checkpoint file `from` (a run's kept
    /// `checkpoint-eNNN.safetensors`, see [`TrainConfig::keep_checkpoints`], or its latest
    /// `checkpoint.safetensors`) with `config`. `config` must train the checkpoint's epochs exactly as
    /// they were trained ([`crate::branch::branch_conflict`]), so that the new directory's one
    /// config describes its whole history; the new run inherits the checkpoint's epoch records and
    /// continues bit-identically to an uninterrupted run of `config`.
    pub fn branch(from: &Path, config: TrainConfig, opts: RunOptions) -> Result<Self> {
        config.validate()?;
        check_new_dir(&opts.dir)?;
        let loaded = checkpoint::load(from)?;
        let stored = loaded.state.config.clone();
        let mismatch = |epoch, (field, stored, requested)| Error::BranchMismatch {
            path: from.to_path_buf(),
            epoch,
            field,
            stored,
            requested,
        };
        let epochs_done = loaded.state.epochs_done;
        if config.epochs <= epochs_done {
            return Err(Error::BranchTooShort {
                path: from.to_path_buf(),
                epochs_done,
                epochs: config.epochs,
            });
        }
        // Options compared by value first: a changed data set or architecture is named as such,
        // before any data is read or model built.
        if let Some(c) = value_conflict(&stored, &config) {
            return Err(mismatch(epochs_done, c));
        }
        let (model, sgd) = restore(from, &stored, &loaded)?;
        let State {
            records,
            step,
            pann_sites,
            ..
        } = loaded.state;
        let run = Self::assemble(config, opts, model, sgd, records, epochs_done, step, pann_sites)?;
        let steps_per_epoch = batches_per_epoch(run.train.n, run.config.batch);
        if step != epochs_done * steps_per_epoch {
            return Err(mismatch(
                epochs_done,
                (
                    "the training-set size (--data, --train-images)".into(),
                    format!("{step} steps in {epochs_done} epochs"),
                    format!("{} images, {steps_per_epoch} steps per epoch", run.train.n),
                ),
            ));
        }
        if let Some(c) = branch_conflict(&stored, &run.config, epochs_done, steps_per_epoch) {
            return Err(mismatch(epochs_done, c));
        }
        std::fs::create_dir_all(&run.opts.dir).map_err(|e| Error::io(&run.opts.dir, e))?;
        run.save()?;
        Ok(run)
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        config: TrainConfig,
        opts: RunOptions,
        mut model: Model,
        sgd: Sgd,
        records: Vec<EpochRecord>,
        epochs_done: usize,
        step: usize,
        sites: Option<PannSites>,
    ) -> Result<Self> {
        model.set_bf16_training(config.bf16);
        if opts.test_images == Some(0) {
            return Err(Error::BadConfig(format!(
                "{}: no test images (--test-images 0): the per-epoch test accuracy needs at least one",
                opts.data_dir.display()
            )));
        }
        // `pann_data::load` refuses an empty split, naming the directory.
        let train = pann_data::load(config.dataset, &opts.data_dir, Split::Train, config.train_images)?;
        let test = pann_data::load(config.dataset, &opts.data_dir, Split::Test, opts.test_images)?;
        if train.num_classes != config.num_classes() || train.n < 2 {
            return Err(Error::BadConfig(format!(
                "{}: {} training images of {} classes, need at least 2 images of {}",
                opts.data_dir.display(),
                train.n,
                train.num_classes,
                config.num_classes()
            )));
        }
        let norm: Normalization = config.norm.parse()?;
        let luts = lookup_tables(&norm, train.channels)?;
        let schedule = LrSchedule::new(&config, batches_per_epoch(train.n, config.batch));
        let act = train_activation(&config)?;
        let teacher = match &config.distill {
            None => None,
            Some(path) => {
                let mut t = Model::load(path)?;
                if t.architecture().num_classes() != config.num_classes() {
                    return Err(Error::BadConfig(format!(
                        "--distill {}: {} classes, the data set has {}",
                        path.display(),
                        t.architecture().num_classes(),
                        config.num_classes()
                    )));
                }
                t.set_channels_last(true);
                Some(t)
            }
        };
        let needs_calib = config.pann_alpha.is_some()
            && (config.pann_range != PannRange::Fixed || config.pann_leak_correction || opts.eval_lee_layers);
        let calib = if needs_calib {
            Some(pann_data::load(
                config.dataset,
                &opts.data_dir,
                Split::Train,
                Some(config.calib_images.max(1)),
            )?)
        } else {
            None
        };
        Ok(Self {
            config,
            opts,
            model,
            sgd,
            schedule,
            act,
            train: Arc::new(train),
            test,
            luts,
            records,
            epochs_done,
            step,
            teacher,
            calib,
            norm,
            sites,
        })
    }

    /// The run's config.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The model as trained so far.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Epochs finished.
    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// Records of the finished epochs.
    pub fn records(&self) -> &[EpochRecord] {
        &self.records
    }

    /// Whether every epoch is done.
    pub fn finished(&self) -> bool {
        self.epochs_done >= self.config.epochs
    }

    /// Path of the model file the run writes.
    pub fn model_path(&self) -> PathBuf {
        self.opts.dir.join(MODEL_FILE)
    }

    /// Trains every remaining epoch.
    pub fn run(&mut self, obs: &mut dyn Observer) -> Result<()> {
        while !self.finished() {
            self.run_epoch(obs)?;
        }
        Ok(())
    }

    fn shape(&self) -> ImageShape {
        [
            self.train.channels as i64,
            self.train.height as i64,
            self.train.width as i64,
        ]
    }

    /// The per-site bounds and offsets the polynomial trains with (none for one global bound without correction).
    pub fn pann_sites(&self) -> Option<&PannSites> {
        self.sites.as_ref()
    }

    /// The activation the next training step uses: the config's polynomial with the per-site bounds and
    /// offsets fitted so far.
    pub fn activation(&self) -> TrainActivation {
        let mut act = self.act.clone();
        if let (TrainRelu::Poly(p), Some(s)) = (&mut act.relu, &self.sites) {
            p.site_bounds = s.bounds.clone();
            p.site_offsets = s.offsets.clone();
        }
        act
    }

    /// Before epoch `epoch` (from 0): fits the per-site bounds if none are fitted yet or a refit is due
    /// (`--refit-bounds-every`), and re-measures the mean-leak offsets at them (`--pann-leak-correction`), on
    /// the calibration images and the weights as they are now — the same rules, code and composite as `pann
    /// eval`. Deterministic in the weights, so a resumed run re-derives what an uninterrupted one had.
    fn fit_sites(&mut self, epoch: usize) -> Result<()> {
        let cfg = &self.config;
        let Some(alpha) = cfg.pann_alpha else {
            return Ok(());
        };
        let per_site = cfg.pann_range != PannRange::Fixed;
        if !per_site && !cfg.pann_leak_correction {
            return Ok(());
        }
        let refit = match &self.sites {
            None => true,
            Some(s) => {
                per_site
                    && s.fitted_before_epoch != epoch
                    && cfg.refit_bounds_every.is_some_and(|k| epoch.is_multiple_of(k))
            }
        };
        if !refit && !cfg.pann_leak_correction {
            return Ok(());
        }
        let sign = CompositeSign::for_alpha(alpha)?;
        let calib = self.calib.as_ref().expect("loaded for per-site bounds");
        let batch = self.opts.eval_batch.max(1);
        let leak = cfg
            .pann_leak_correction
            .then_some(LeakCorrection { calib, iterations: 1 });
        let rule = LeeLayers {
            margin: cfg.range_margin,
            step: cfg.layer_step.parse::<LayerStep>()?,
            ..LeeLayers::default()
        };
        let (range, bound, margin) = (cfg.pann_range, cfg.bound, cfg.range_margin);
        // Inference runs channels-last (faster); training's own forward pass does not look at this switch.
        self.model.set_channels_last(true);
        let model = &self.model;
        let norm = &self.norm;
        let fitted = (|| -> Result<(Bounds, usize)> {
            if !refit {
                let s = self.sites.as_ref().expect("refit when none");
                return Ok((
                    Bounds::PerSite {
                        relu: s.bounds.clone(),
                        pool: s.pool_bounds.clone(),
                    },
                    s.fitted_before_epoch,
                ));
            }
            let bounds = match range {
                PannRange::Fixed => Bounds::PerSite {
                    relu: vec![bound; model.relu_sites().len()],
                    pool: vec![bound; model.pool_sites().len()],
                },
                PannRange::Calibrate => calibrate(model, calib, norm, batch, margin, &mut Silent)?,
                PannRange::LeeLayers => {
                    let start = calibrate(model, calib, norm, batch, margin, &mut Silent)?;
                    let r = lee_layers(
                        model,
                        calib,
                        norm,
                        &start,
                        &sign,
                        ReluShift::NONE,
                        batch,
                        &rule,
                        leak,
                        &mut Silent,
                    )?;
                    r.bounds
                }
            };
            Ok((bounds, epoch))
        })();
        let offsets = match (&fitted, leak) {
            (Ok((bounds, _)), Some(l)) => {
                let acts = plan(model, &[&sign], bounds, OverflowPolicy::Count, ReluShift::NONE)?;
                Some(leak_means(model, l.calib, norm, &acts, batch, &mut Silent))
            }
            _ => None,
        };
        self.model.set_channels_last(false);
        let (bounds, fitted_before_epoch) = fitted?;
        let offsets = offsets.transpose()?.unwrap_or_default();
        let Bounds::PerSite { relu, pool } = bounds else {
            unreachable!("per-site bounds above")
        };
        self.sites = Some(PannSites {
            bounds: relu,
            pool_bounds: pool,
            offsets,
            fitted_before_epoch,
        });
        Ok(())
    }

    /// Test accuracy at `--pann-alpha` under `pann eval --range lee-layers` (and the largest bound it found).
    fn lee_layers_accuracy(&mut self) -> Result<Option<(f64, f64)>> {
        let Some(alpha) = self.config.pann_alpha else {
            return Ok(None);
        };
        if !self.opts.eval_lee_layers {
            return Ok(None);
        }
        let cfg = pann_eval::EvalConfig {
            alphas: vec![alpha],
            range: pann_eval::RangeRule::LeeLayers(LeeLayers {
                margin: self.config.range_margin,
                step: self.config.layer_step.parse::<LayerStep>()?,
                ..LeeLayers::default()
            }),
            overflow: OverflowPolicy::Count,
            batch: self.opts.eval_batch.max(1),
            relu_shift: ReluShift::NONE,
            leak_correction: self.config.pann_leak_correction,
            leak_iterations: 1,
        };
        self.model.set_channels_last(true);
        let r = pann_eval::evaluate_pann(
            &self.model,
            &self.test,
            &self.norm,
            self.calib.as_ref(),
            &cfg,
            &mut Silent,
            &mut (),
        );
        self.model.set_channels_last(false);
        let row = &r?.rows[0];
        Ok(Some((row.accuracy, row.bound)))
    }

    /// Trains one epoch, evaluates, writes checkpoint, model and logs.
    pub fn run_epoch(&mut self, obs: &mut dyn Observer) -> Result<EpochRecord> {
        let epoch = self.epochs_done;
        self.fit_sites(epoch)?;
        let act = self.activation();
        // The noise of `--neg-noise` comes from libtorch's generator: reseeded per epoch.
        tch::manual_seed(derive_seed(&[self.config.seed, epoch as u64, 0x6e6f697365]) as i64);
        let plan = EpochPlan {
            seed: self.config.seed,
            epoch,
            batch: self.config.batch,
            augment: self.config.augment,
            cutout: self.config.cutout,
            mixup: self.config.mixup_at(epoch),
            smoothing: self.config.label_smoothing as f32,
            luts: self.luts.clone(),
        };
        let loader = Prefetcher::start(Arc::clone(&self.train), plan);
        let batches = loader.batches();
        obs.epoch_begin(epoch + 1, self.config.epochs, batches);
        let shape = self.shape();
        let start = Instant::now();
        let (mut loss_sum, mut hits, mut seen, mut lr) = (0.0, 0i64, 0usize, 0.0);
        for (i, batch) in loader.enumerate() {
            let b = batch?;
            lr = self.schedule.lr(self.step);
            let distill = self.teacher.as_ref().map(|teacher| Distill {
                teacher,
                weight: self.config.distill_weight,
                temperature: self.config.temperature,
            });
            let r = train_step_distilled(&self.model, &mut self.sgd, &act, &b, shape, lr, distill.as_ref())?;
            if !r.loss.is_finite() {
                return Err(Error::Diverged {
                    epoch: epoch + 1,
                    loss: r.loss,
                });
            }
            self.step += 1;
            loss_sum += r.loss * b.n as f64;
            hits += r.correct;
            seen += b.n;
            let secs = start.elapsed().as_secs_f64();
            obs.batch_end(&BatchProgress {
                batch: i + 1,
                batches,
                images: seen,
                loss: loss_sum / seen as f64,
                acc: hits as f64 / seen as f64,
                images_per_sec: seen as f64 / secs.max(1e-9),
            });
        }
        let train_seconds = start.elapsed().as_secs_f64();
        obs.testing();
        let t = Instant::now();
        let test_acc = self.accuracy(&TrainActivation::exact(), true)?;
        let test_acc_pann = match act.relu {
            TrainRelu::Exact => None,
            TrainRelu::Poly(_) => Some(self.accuracy(&act, false)?),
        };
        let rule = self.lee_layers_accuracy()?;
        let record = EpochRecord {
            epoch: epoch + 1,
            train_loss: loss_sum / seen.max(1) as f64,
            train_acc: hits as f64 / seen.max(1) as f64,
            test_acc,
            test_acc_pann,
            lr,
            train_seconds,
            test_seconds: t.elapsed().as_secs_f64(),
            images_per_sec: seen as f64 / train_seconds.max(1e-9),
            peak_rss_mib: peak_rss_mib(),
            train_bound_max: self
                .sites
                .as_ref()
                .map(|s| s.bounds.iter().fold(0.0, |a: f64, &b| a.max(b))),
            test_acc_lee_layers: rule.map(|r| r.0),
            test_lee_layers_bound_max: rule.map(|r| r.1),
        };
        self.records.push(record.clone());
        self.epochs_done += 1;
        self.save()?;
        obs.epoch_end(&record);
        Ok(record)
    }

    /// Test accuracy with BN in inference mode; `fused` uses the inference kernels.
    fn accuracy(&self, act: &TrainActivation, fused: bool) -> Result<f64> {
        let (n, len) = (self.test.n, self.test.image_len());
        let shape = self.shape();
        let mut hits = 0i64;
        let mut buf = vec![0f32; self.opts.eval_batch.max(1) * len];
        for start in (0..n).step_by(self.opts.eval_batch.max(1)) {
            let end = (start + self.opts.eval_batch.max(1)).min(n);
            let out = &mut buf[..(end - start) * len];
            for (o, i) in out.chunks_exact_mut(len).zip(start..end) {
                crate::augment::plain_into(self.test.image(i), len / self.test.channels, &self.luts, o);
            }
            let xs = Tensor::from_slice(out).f_view([(end - start) as i64, shape[0], shape[1], shape[2]])?;
            let labels: Vec<i64> = self.test.labels[start..end].iter().map(|&l| l as i64).collect();
            let logits = if fused {
                self.model.forward_exact(&xs)?
            } else {
                tch::no_grad(|| self.model.forward_t(&xs, act, false))?
            };
            hits += correct(&logits, &Tensor::from_slice(&labels))?;
        }
        Ok(hits as f64 / n.max(1) as f64)
    }

    /// Writes checkpoint, model, config and logs of the current state.
    fn save(&self) -> Result<()> {
        let dir = &self.opts.dir;
        let state = State {
            format: checkpoint::FORMAT,
            config: self.config.clone(),
            epochs_done: self.epochs_done,
            step: self.step,
            records: self.records.clone(),
            checksum: 0,
            pann_sites: self.sites.clone(),
        };
        checkpoint::save(&dir.join(CHECKPOINT_FILE), &self.model, &self.sgd, &state)?;
        if self.config.keep_checkpoints.contains(&self.epochs_done) {
            keep_checkpoint(dir, self.epochs_done, true)?;
        }
        // The model files say what they were trained on, so `pann eval` and the rest default to it.
        let card = ModelCard::new(self.model.architecture(), self.config.dataset, &self.config.norm)?;
        save_model_atomic(&self.model, &card, &dir.join(MODEL_FILE))?;
        if self.config.snapshots {
            save_model_atomic(&self.model, &card, &dir.join(snapshot_file(self.epochs_done)))?;
        }
        let config = serde_json::to_vec_pretty(&self.config).expect("config serialises");
        checkpoint::write_atomic(&dir.join(CONFIG_FILE), &config)?;
        write_logs(dir, &self.records)
    }
}

/// The file `--keep-checkpoints` keeps the checkpoint after epoch `epoch` (from 1) in.
pub fn kept_checkpoint_file(epoch: usize) -> String {
    format!("checkpoint-e{epoch:03}.safetensors")
}

/// Copies the run's checkpoint in `dir` to its kept file for `epoch` (atomically, synced), unless
/// that exists and `overwrite` is off.
fn keep_checkpoint(dir: &Path, epoch: usize, overwrite: bool) -> Result<()> {
    let kept = dir.join(kept_checkpoint_file(epoch));
    if overwrite || !kept.exists() {
        let from = dir.join(CHECKPOINT_FILE);
        let bytes = std::fs::read(&from).map_err(|e| Error::io(&from, e))?;
        checkpoint::write_atomic(&kept, &bytes)?;
    }
    Ok(())
}

/// Refuses a run directory that already holds a run, or is a file.
fn check_new_dir(dir: &Path) -> Result<()> {
    if dir.join(CHECKPOINT_FILE).exists() {
        return Err(Error::BadConfig(format!(
            "{} already holds a run; continue it with --resume {} or choose another --out",
            dir.display(),
            dir.display()
        )));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(Error::BadConfig(format!(
            "--out {}: exists and is not a directory",
            dir.display()
        )));
    }
    Ok(())
}

/// A fresh SGD optimiser over `model`'s parameters with `config`'s momentum and weight decay.
fn optimiser(model: &Model, config: &TrainConfig) -> Result<Sgd> {
    Sgd::new(
        model.var_store(),
        config.momentum,
        config.nesterov,
        config.wd,
        config.decay_bn_bias,
    )
}

/// The model and optimiser of `config`, with the weights and momentum of the checkpoint `path`.
fn restore(path: &Path, config: &TrainConfig, loaded: &checkpoint::Loaded) -> Result<(Model, Sgd)> {
    let mut model = Model::new(config.architecture()?)?;
    checkpoint::restore_model(path, &mut model, &loaded.model)?;
    let mut sgd = optimiser(&model, config)?;
    sgd.load_buffers(&loaded.momentum, &path.display().to_string())
        .map_err(|e| Error::CorruptCheckpoint {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
    Ok((model, sgd))
}

/// The file `--snapshots` keeps the weights after epoch `epoch` (from 1) in.
pub fn snapshot_file(epoch: usize) -> String {
    format!("model-e{epoch:03}.safetensors")
}

/// [`Model::save_with_card`] to a temp file, then rename.
fn save_model_atomic(model: &Model, card: &ModelCard, path: &Path) -> Result<()> {
    let tmp = path.with_extension("safetensors.tmp");
    model.save_with_card(&tmp, card)?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
