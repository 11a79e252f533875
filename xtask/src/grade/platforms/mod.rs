//! The platforms instructors grade on, beyond one machine, each checked
//! for real: `slurm`, a batch cluster's array job.

pub mod slurm;
