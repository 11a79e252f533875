//! The platforms instructors grade on, beyond one machine, each checked
//! for real: `slurm`, a batch cluster's array job; `github_classroom`, the
//! workflow of the students' repository and GitHub Classroom's reporter;
//! `gradescope`, an autograder package.

pub mod github_classroom;
pub mod gradescope;
pub mod slurm;
