#!/bin/sh
# Grade a class as a Slurm array job, one part of the class per task.
#
#   sbatch --array=1-N xtask/platforms/slurm/grade-array.sh WORKBOOK CLASS OUT [GRADE OPTIONS...]
#
# Task K of N runs `cargo xtask grade --class CLASS --shard K/N --out OUT/part-K`
# in the workbook checked out at WORKBOOK (the instructors' repository, the
# same commit on every node). When every task is done, merge the parts into
# the class's reports (table, grades.json, JUnit, grades.csv, one report per
# student):
#
#   cargo xtask grade --merge OUT/part-1 ... OUT/part-N --out OUT/class
#
# The grader allows one grading per machine at a time (its tests share one
# unprivileged account, whose process limit the kernel counts machine-wide):
# tasks that land on the same node wait for each other. GRADE OPTIONS are
# passed on, for instance --hidden-tests DIR or --exercise NAME.
#SBATCH --job-name=nlbook-grade
#SBATCH --output=nlbook-grade-%A-%a.log
set -eu
if [ $# -lt 3 ]; then
	echo "usage: sbatch --array=1-N $0 WORKBOOK CLASS OUT [GRADE OPTIONS...]" >&2
	exit 2
fi
if [ -z "${SLURM_ARRAY_TASK_ID:-}" ] || [ -z "${SLURM_ARRAY_TASK_COUNT:-}" ]; then
	echo "$0: not an array task: submit it with sbatch --array=1-N" >&2
	exit 2
fi
workbook=$1 class=$2 out=$3
shift 3
part=$SLURM_ARRAY_TASK_ID
cd "$workbook"
exec cargo xtask grade --class "$class" --shard "$part/$SLURM_ARRAY_TASK_COUNT" \
	--out "$out/part-$part" "$@"
